-- The stripe-webhook function's one write: a verified event enters the ledger and takes effect in
-- the same transaction, so a retried or duplicated delivery changes nothing. Updates of a
-- subscription carry the event's time as stripe_state_at; the trigger
-- private.ignore_older_stripe_state then drops an event older than the state already stored.
-- Handled so far: invoice.payment_failed (the subscription becomes past_due; with grace_until
-- unset, private.subscription_standing counts it in grace while Stripe retries). Other types are
-- recorded and otherwise ignored.
create or replace function public.apply_stripe_event(event jsonb) returns text
language plpgsql security invoker set search_path = ''
as $$
declare
  event_id text := event->>'id';
  event_type text := event->>'type';
  stripe_created_at timestamptz := to_timestamp((event->>'created')::bigint);
  object jsonb := event->'data'->'object';
begin
  if event_id is null or event_type is null or object is null then
    raise exception 'not a Stripe event: id, type, created and data.object are required'
      using errcode = '22023';
  end if;
  insert into public.stripe_webhook_events (event_id, type, stripe_created_at, payload)
  values (event_id, event_type, stripe_created_at, event)
  on conflict on constraint stripe_webhook_events_pkey do nothing;
  if not found then
    return 'duplicate';
  end if;
  if event_type = 'invoice.payment_failed' then
    update public.subscriptions
       set status = 'past_due', stripe_state_at = stripe_created_at
     where stripe_subscription_id = object->>'subscription'
       and status in ('active', 'trialing', 'past_due');
    return 'applied';
  end if;
  return 'ignored';
end
$$;
comment on function public.apply_stripe_event(jsonb) is
  'Records a verified Stripe event in the ledger and applies it in the same transaction: '
  '''applied'', ''ignored'' (type not handled) or ''duplicate'' (already recorded: no effect). '
  'Service role only (the stripe-webhook function).';
revoke execute on function public.apply_stripe_event(jsonb) from public, anon, authenticated;
grant execute on function public.apply_stripe_event(jsonb) to service_role;
