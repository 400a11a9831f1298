import { randomUUID } from 'node:crypto';
import { withTransaction, type Db } from '../../src/db/pool.js';
import { insertWorkspace, insertRoom } from '../../src/db/workspaces.js';
import { insertDefinition, insertEventSource } from '../../src/db/event-sources.js';
import { generateSourceToken, hashToken } from '../../src/domain/tokens.js';
import { newId } from '../../src/domain/ids.js';
import { createOrgWithKey } from '../../src/tenancy.js';

// bench:rooms' rooms, written straight to PostgreSQL through hookwise's own queries (the API would
// take minutes for 10,000 rooms and is not what is measured): one org, one workspace, and per room
// one event source (its token kept for the inbound route) with one rule that every event matches, so
// no model is asked to match.

export interface SeededRoom {
  roomId: string;
  token: string;
}

export const EVENT_TYPE = 'charge.succeeded';

export async function seedRooms(db: Db, n: number, progress: (done: number) => void): Promise<{ organizationId: string; workspaceId: string; rooms: SeededRoom[] }> {
  const { org } = await createOrgWithKey(db, `bench-rooms-${randomUUID()}`);
  const organizationId = org.id;
  const workspace = await insertWorkspace(db, { id: newId('ws'), organizationId, name: 'bench rooms' });
  const rooms: SeededRoom[] = [];
  const BATCH = 200;
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const from = next;
      next = Math.min(n, next + BATCH);
      const to = next;
      const made = await withTransaction(db, async (tx) => {
        const out: SeededRoom[] = [];
        for (let i = from; i < to; i++) {
          const room = await insertRoom(tx, {
            id: newId('room'),
            organizationId,
            workspaceId: workspace.id,
            name: `room ${i}`,
            instructions: 'Acknowledge payments.',
            modelTier: 'fast',
            twilioAuthKeys: null,
          });
          const token = generateSourceToken();
          const source = await insertEventSource(tx, {
            id: newId('src'),
            organizationId,
            roomId: room.id,
            name: 'stripe',
            tokenHash: hashToken(token),
            verificationScheme: null,
            verificationKeys: null,
            verificationHeader: null,
          });
          await insertDefinition(tx, {
            id: newId('def'),
            organizationId,
            sourceId: source.id,
            name: 'charge succeeded',
            description: 'a card payment went through',
            priority: 1,
            rule: { path: 'type', equals: EVENT_TYPE },
            instructions: null,
          }, 1);
          out.push({ roomId: room.id, token });
        }
        return out;
      });
      rooms.push(...made);
      progress(rooms.length);
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
  return { organizationId, workspaceId: workspace.id, rooms };
}
