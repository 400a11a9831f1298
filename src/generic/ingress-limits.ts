import { describeJsonProblem, findJsonProblem } from '../domain/json-limits.js';
import { AppError } from '../errors.js';

/**
 * What the generic ingress refuses at the door with a 400, so that nothing it accepts can fail later
 * in its workflow (where a failure would be retried forever): a payload nested deeper than
 * MAX_JSON_DEPTH, and text PostgreSQL can't store (NUL, unpaired surrogates) in the payload.
 */
export function payloadProblem(payload: unknown): AppError | null {
  const problem = findJsonProblem(payload, { text: true });
  return problem ? new AppError('bad_request', `the body is ${describeJsonProblem(problem)}`) : null;
}
