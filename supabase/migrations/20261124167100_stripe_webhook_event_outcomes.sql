-- The webhook ledger says what became of each delivery, so support can see it and so events that
-- arrived before the organization they belong to was known can be applied later:
--   applied    took effect
--   ignored    a type not handled, or an object that is not ours (said in detail)
--   stale      older than the state already stored, which it therefore did not overwrite
--   unmatched  no organization known for it yet; applied again once its customer is linked
--   malformed  signed by Stripe but unusable (not an event, or bad data): recorded so that Stripe
--              stops retrying, never applied
-- A signed body that is not an event at all has no Stripe id; it is kept under
-- 'evt_malformed_' || md5(body), so that the same body again is a duplicate.

alter table public.stripe_webhook_events
  add column outcome text check (outcome in ('applied', 'ignored', 'stale', 'unmatched', 'malformed')),
  add column detail text;
comment on column public.stripe_webhook_events.outcome is
  'applied, ignored, stale (older than the stored state), unmatched (organization not known yet: '
  'applied again when its customer is linked) or malformed (signed but unusable). Null for rows '
  'recorded before outcomes were kept.';
comment on column public.stripe_webhook_events.detail is 'Why an event was ignored or malformed, for support.';
comment on column public.stripe_webhook_events.event_id is
  'Stripe''s event id (evt_…), unique; evt_malformed_<md5 of the body> for a signed body that is not an event.';

-- Linking a customer looks up the events still waiting for it.
create index stripe_webhook_events_unmatched_customer_idx on public.stripe_webhook_events
  ((payload -> 'data' -> 'object' ->> 'customer'), stripe_created_at)
  where outcome = 'unmatched';

-- A failed payment delivered late looks for a payment between it and the stored state.
create index stripe_webhook_events_type_created_idx on public.stripe_webhook_events (type, stripe_created_at);
