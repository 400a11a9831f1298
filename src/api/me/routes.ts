import { findOrgById } from '../../db/orgs.js';
import { orgOf } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { doc } from '../openapi.js';

/** Who the caller is: its org and what its key or login token may do (consoles show only what it can). */
export function meRoutes(router: ApiRouter, { db }: ApiDeps): void {
  router.get('/me', doc({ summary: 'The caller: its organization and capabilities', response: '`{organization: {id, name}, capabilities, subject}`' }), async (ctx) => {
    const org = await findOrgById(db, orgOf(ctx));
    const { capabilities, subject } = ctx.state.principal;
    ctx.body = { organization: { id: orgOf(ctx), name: org?.name ?? null }, capabilities, subject };
  });
}
