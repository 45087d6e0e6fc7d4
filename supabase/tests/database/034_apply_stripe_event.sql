-- apply_stripe_event: who may call it, the ledger making a retry a no-op, invoice.payment_failed,
-- an older event never overwriting newer state, and a malformed event recorded without effect.
begin;
select plan(15);
select tests.create_world();
select tests.create_billing();

create function pg_temp.failed(event_id text, created bigint, subscription text) returns jsonb
language sql immutable as $$
  select jsonb_build_object('id', event_id, 'type', 'invoice.payment_failed', 'created', created,
                            'data', jsonb_build_object('object', jsonb_build_object(
                              'id', 'in_' || event_id, 'object', 'invoice', 'subscription', subscription)))
$$;

select is(has_function_privilege(role, 'public.apply_stripe_event(jsonb)', 'execute'), role = 'service_role',
          format('%s %s execute apply_stripe_event', role, case when role = 'service_role' then 'may' else 'may not' end))
  from unnest(array['anon', 'authenticated', 'service_role']) role;
select is(tests.try_as('platform_admin', $$select public.apply_stripe_event('{}')$$),
          '42501 permission denied for function apply_stripe_event',
          'not even a platform admin can feed events through the API');

set local role service_role;
select is(public.apply_stripe_event(pg_temp.failed('evt_fail_1', 2000000000, 'sub_a')), 'applied',
          'a first invoice.payment_failed is applied');
select is((select status || '/' || stripe_state_at::text from public.subscriptions where stripe_subscription_id = 'sub_a'),
          'past_due/' || to_timestamp(2000000000)::text, 'the subscription is past_due as of the event');
select is((select private.subscription_standing(status, grace_until) from public.subscriptions where stripe_subscription_id = 'sub_a'),
          'in_grace', 'and in grace while Stripe retries');
select is((select type from public.stripe_webhook_events where event_id = 'evt_fail_1'),
          'invoice.payment_failed', 'the event is in the ledger');

update public.subscriptions set status = 'active' where stripe_subscription_id = 'sub_a';
select is(public.apply_stripe_event(pg_temp.failed('evt_fail_1', 2000000000, 'sub_a')), 'duplicate',
          'the same event again is a duplicate');
select is((select status from public.subscriptions where stripe_subscription_id = 'sub_a'), 'active',
          'and changes nothing');

select is(public.apply_stripe_event(pg_temp.failed('evt_fail_old', 1999999999, 'sub_a')), 'stale',
          'an older event is recorded as stale');
select is((select status from public.subscriptions where stripe_subscription_id = 'sub_a'), 'active',
          'but does not overwrite the newer state');

select is(public.apply_stripe_event('{"id":"evt_other","type":"customer.created","created":2000000000,"data":{"object":{}}}'),
          'ignored', 'a type not handled is recorded and ignored');
select is(public.apply_stripe_event('{"id":"evt_bad","type":"invoice.payment_failed"}'), 'malformed',
          'an event without created or data.object is recorded as malformed (so Stripe stops retrying)');
select is((select outcome from public.stripe_webhook_events where event_id = 'evt_bad'), 'malformed',
          'with its outcome in the ledger and no effect');
reset role;

select * from finish();
rollback;
