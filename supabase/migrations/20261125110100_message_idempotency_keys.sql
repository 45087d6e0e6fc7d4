-- A client that retries a send (a timeout, a lost answer) names the attempt with an idempotency
-- key: the second insert with the same sender and key finds the first message instead of writing
-- another one. The unique constraint decides, so two concurrent retries also write one message.

alter table public.messages
  add column idempotency_key text
    check (idempotency_key is null or length(idempotency_key) between 1 and 200),
  add constraint messages_sender_idempotency_key_unique unique (sender_id, idempotency_key);
comment on column public.messages.idempotency_key is
  'The sender''s key for this send (Idempotency-Key); a retry with the same key writes nothing new.';

grant insert (idempotency_key) on public.messages to authenticated;
