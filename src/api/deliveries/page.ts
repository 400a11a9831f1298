import type { z } from 'zod';
import { listDeliveries, type DeliveryStatus } from '../../db/deliveries.js';
import type { Db } from '../../db/pool.js';
import { decodeCursor, page } from '../cursor.js';
import type { listDeliveriesQuery } from '../webhooks/schema.js';
import { presentDelivery } from './presenter.js';

/** One page of an org's deliveries, newest first, with the cursor of the next page. */
export async function deliveryPage(db: Db, organizationId: string, q: z.infer<typeof listDeliveriesQuery>, forced: { webhookId?: string; status?: DeliveryStatus } = {}) {
  const rows = await listDeliveries(db, organizationId, { ...q, ...forced, after: decodeCursor(q.cursor), limit: q.limit + 1 });
  const { data, nextCursor } = page(rows, q.limit, (d) => ({ at: d.createdAt, id: d.id }));
  return { data: data.map((d) => presentDelivery(d)), nextCursor };
}
