-- Up Migration

-- A room's Twilio auth tokens as a list of expiring keys, newest first, sealed, as 0004 keeps the other
-- secrets: after a rotation the previous token keeps verifying for the overlap window while the
-- customer promotes the new one in Twilio. Each existing token becomes the room's one current key.
ALTER TABLE rooms ADD COLUMN twilio_auth_keys jsonb;
UPDATE rooms SET twilio_auth_keys = jsonb_build_array(jsonb_build_object(
    'secret', twilio_auth_token_sealed, 'createdAt', (extract(epoch FROM now()) * 1000)::bigint, 'expiresAt', NULL))
  WHERE twilio_auth_token_sealed IS NOT NULL;
-- twilio_auth_token_sealed stays: during a rolling deploy the previous release's API processes still
-- read it (so the API keeps writing the newest sealed token to it) and may still create rooms that set
-- only it (so a room without keys is read as having that one token). A later migration can drop it once
-- no process of that release runs.
