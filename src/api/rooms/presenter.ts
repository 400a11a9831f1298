import type { Room, Workspace } from '../../db/workspaces.js';
import type { EventDefinition, EventSource } from '../../db/event-sources.js';
import type { BacklogItem } from '../../db/backlog.js';
import { activeKeys } from '../../domain/signing-keys.js';

const ms = (d: Date | null) => (d ? d.getTime() : null);

export const presentWorkspace = (w: Workspace) => ({ id: w.id, name: w.name, createdAt: ms(w.createdAt) });

export const presentRoom = (r: Room) => ({
  id: r.id,
  workspaceId: r.workspaceId,
  name: r.name,
  instructions: r.instructions,
  modelTier: r.modelTier,
  twilioConfigured: activeKeys(r.twilioAuthKeys ?? [], Date.now()).length > 0,
  createdAt: ms(r.createdAt),
});

/** The token is shown only when it is created or regenerated; stored, it is a hash. */
export const presentSource = (s: EventSource) => ({
  id: s.id,
  roomId: s.roomId,
  name: s.name,
  verification: s.verificationScheme ? { scheme: s.verificationScheme, header: s.verificationHeader } : null,
  droppedCount: s.droppedCount,
  createdAt: ms(s.createdAt),
});

export const presentDefinition = (d: EventDefinition) => ({
  id: d.id,
  sourceId: d.sourceId,
  name: d.name,
  description: d.description,
  priority: d.priority,
  rule: d.rule,
  instructions: d.instructions,
  createdAt: ms(d.createdAt),
});

export const presentItem = (i: BacklogItem) => ({
  id: i.id,
  roomId: i.roomId,
  sourceId: i.sourceId,
  eventId: i.eventId,
  definitionId: i.definitionId,
  priority: i.priority,
  status: i.status,
  result: i.result,
  error: i.error,
  createdAt: ms(i.createdAt),
  startedAt: ms(i.startedAt),
  completedAt: ms(i.completedAt),
});
