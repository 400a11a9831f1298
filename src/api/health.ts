import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/pool.js';
import { temporalReachable } from '../temporal/client.js';

async function postgresReachable(db: Db): Promise<boolean> {
  try {
    await db.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

/** /healthz: the process is up. /readyz: it can do its work, i.e. PostgreSQL and Temporal answer. */
export function healthRouter(db: Db, temporal: Client): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/readyz', async (ctx) => {
    const [postgres, temporalOk] = await Promise.all([postgresReachable(db), temporalReachable(temporal)]);
    ctx.status = postgres && temporalOk ? 200 : 503;
    ctx.body = { ok: postgres && temporalOk, postgres, temporal: temporalOk };
  });
  return router;
}
