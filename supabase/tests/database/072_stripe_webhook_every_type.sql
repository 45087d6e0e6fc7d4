-- apply_stripe_event for every handled type: checkout linking and holds, subscription
-- created/updated/deleted with plan, seats and add-ons, invoices and the grace period, payment
-- intents; every order of a subscription's events ends in the same state (all permutations);
-- replays change nothing; events waiting for their organization apply once it is linked; signed
-- but bad data is recorded as malformed.
begin;
select plan(60);
select tests.create_world();
select tests.create_billing();

insert into public.plans (key, name, price_cents, billing_interval, max_users, max_sims, features, payment_grace_days)
values ('tests_small', 'Small', 500, 'month', 3, 1, '{}', 3);
insert into public.add_ons (key, name, price_cents, billing_interval, features)
values ('tests_voice', 'Voice', 900, 'month', '{voice_ai}');
update public.plans set payment_grace_days = 10 where key = 'tests_plan';
insert into public.organizations (id, name, slug, plan_key)
values (tests.named('org_x'), 'Org X', 'org-x', 'tests_plan');

create function pg_temp.event(event_id text, event_type text, created bigint, object jsonb) returns jsonb
language sql immutable as $$
  select jsonb_build_object('id', event_id, 'object', 'event', 'type', event_type, 'created', created,
                            'livemode', false, 'data', jsonb_build_object('object', object))
$$;

-- A subscription object as Stripe sends it: items with price.lookup_key and quantity.
create function pg_temp.sub(sub_id text, customer text, status text, plan_seats integer,
                            add_on boolean, period_end bigint, extra jsonb default '{}') returns jsonb
language sql immutable as $$
  select jsonb_build_object(
    'id', sub_id, 'object', 'subscription', 'customer', customer, 'status', status,
    'current_period_end', period_end, 'cancel_at', null, 'cancel_at_period_end', false, 'metadata', '{}'::jsonb,
    'items', jsonb_build_object('object', 'list', 'data',
      jsonb_build_array(jsonb_build_object('id', 'si_plan', 'quantity', plan_seats,
                          'price', jsonb_build_object('id', 'price_tests_plan', 'lookup_key', 'tests_plan')))
      || case when add_on then jsonb_build_array(jsonb_build_object('id', 'si_voice', 'quantity', 1,
                          'price', jsonb_build_object('id', 'price_tests_voice', 'lookup_key', 'tests_voice')))
              else '[]'::jsonb end)) || extra
$$;

create function pg_temp.invoice(sub_id text, customer text) returns jsonb
language sql immutable as $$
  select jsonb_build_object('id', 'in_' || sub_id, 'object', 'invoice', 'customer', customer, 'subscription', sub_id)
$$;

-- What a subscription row and its add-ons look like, in one comparable line.
create function pg_temp.state(sub_id text) returns text
language sql stable as $$
  select format('%s %s seats=%s end=%s grace=%s addons=%s', s.status, s.plan_key, s.seats,
                extract(epoch from s.current_period_end)::bigint,
                extract(epoch from s.grace_until)::bigint,
                (select coalesce(string_agg(add_on_key || 'x' || quantity, ',' order by add_on_key), '')
                   from public.subscription_add_ons where subscription_id = s.id))
    from public.subscriptions s where s.stripe_subscription_id = sub_id
$$;

set local role service_role;

-- ## checkout.session.completed, then the subscription
select is(public.apply_stripe_event(pg_temp.event('evt_cs_x', 'checkout.session.completed', 2000000000,
            jsonb_build_object('id', 'cs_x', 'object', 'checkout.session', 'mode', 'subscription',
                               'customer', 'cus_x', 'subscription', 'sub_x', 'payment_status', 'paid',
                               'client_reference_id', tests.id('org_x'), 'metadata', '{}'::jsonb))),
          'applied', 'checkout.session.completed is applied');
select is((select org_id from public.stripe_customers where stripe_customer_id = 'cus_x'), tests.id('org_x'),
          'and links the organization (client_reference_id) to its customer');

-- updated arrives before created: the later state wins either way.
select is(public.apply_stripe_event(pg_temp.event('evt_x_upd', 'customer.subscription.updated', 2000000010,
            pg_temp.sub('sub_x', 'cus_x', 'active', 4, true, 2002600000))),
          'applied', 'customer.subscription.updated before its created is applied');
select is(public.apply_stripe_event(pg_temp.event('evt_x_new', 'customer.subscription.created', 2000000005,
            pg_temp.sub('sub_x', 'cus_x', 'incomplete', 1, false, 2002600000))),
          'stale', 'the created that follows is older: stale');
select is(pg_temp.state('sub_x'), 'active tests_plan seats=4 end=2002600000 grace= addons=tests_voicex1',
          'status, plan from the lookup_key, seats from the quantity, add-on and period are the update''s');
select is((select outcome from public.stripe_webhook_events where event_id = 'evt_x_new'), 'stale',
          'the ledger says what became of it');

-- created in the same second as the stored update never overwrites it either.
select is(public.apply_stripe_event(pg_temp.event('evt_x_new2', 'customer.subscription.created', 2000000010,
            pg_temp.sub('sub_x', 'cus_x', 'incomplete', 1, false, 2002600000))),
          'stale', 'a created of the same second as the stored state is stale');

-- a plan change follows on the organization (audited), cancel_at is kept
select is(public.apply_stripe_event(pg_temp.event('evt_x_small', 'customer.subscription.updated', 2000000020,
            jsonb_set(pg_temp.sub('sub_x', 'cus_x', 'active', 2, false, 2002600000, '{"cancel_at": 2002600000}'),
                      '{items,data,0,price,lookup_key}', '"tests_small"'))),
          'applied', 'a plan change is applied');
select is((select plan_key || ' ' || seats || ' ' || extract(epoch from cancel_at)::bigint from public.subscriptions
            where stripe_subscription_id = 'sub_x'), 'tests_small 2 2002600000', 'the subscription has the new plan and cancel_at');
select is((select plan_key from public.organizations where id = tests.id('org_x')), 'tests_small',
          'the organization''s plan follows (its limits and features with it)');
select is((select count(*) from public.audit_log where action = 'org.change_plan_or_limits' and org_id = tests.id('org_x')),
          1::bigint, 'and the plan change is audited');
select is((select count(*) from public.subscription_add_ons sa join public.subscriptions s on s.id = sa.subscription_id
            where s.stripe_subscription_id = 'sub_x'), 0::bigint, 'an add-on no longer among the items is removed');

-- a period never goes back, even in the same second
select is(public.apply_stripe_event(pg_temp.event('evt_x_back', 'customer.subscription.updated', 2000000020,
            pg_temp.sub('sub_x', 'cus_x', 'active', 9, false, 2000000000))),
          'stale', 'an update with an earlier period is stale');

-- ## Replays change nothing
select is(public.apply_stripe_event(pg_temp.event('evt_x_upd', 'customer.subscription.updated', 2000000010,
            pg_temp.sub('sub_x', 'cus_x', 'active', 4, true, 2002600000))),
          'duplicate', 'a replayed update is a duplicate');
select is(pg_temp.state('sub_x'), 'active tests_small seats=2 end=2002600000 grace= addons=',
          'and changes nothing');
select is(public.apply_stripe_event(pg_temp.event('evt_cs_x', 'checkout.session.completed', 2000000000, '{}')),
          'duplicate', 'an event id seen before is a duplicate whatever its body');

-- ## deleted is final
select is(public.apply_stripe_event(pg_temp.event('evt_x_del', 'customer.subscription.deleted', 2000000030,
            pg_temp.sub('sub_x', 'cus_x', 'canceled', 2, false, 2002600000))),
          'applied', 'customer.subscription.deleted is applied');
select is(public.apply_stripe_event(pg_temp.event('evt_x_late', 'customer.subscription.updated', 2000000040,
            pg_temp.sub('sub_x', 'cus_x', 'active', 2, false, 2005200000))),
          'stale', 'a later update of a deleted subscription is stale');
select is((select status from public.subscriptions where stripe_subscription_id = 'sub_x'), 'canceled',
          'the subscription stays canceled');

-- a new subscription of the organization replaces the canceled one; another live one does not
select is(public.apply_stripe_event(pg_temp.event('evt_x2_new', 'customer.subscription.created', 2000000050,
            pg_temp.sub('sub_x2', 'cus_x', 'active', 3, false, 2002600050))),
          'applied', 'a new subscription after the canceled one is applied');
select is((select stripe_subscription_id || ' ' || status from public.subscriptions where org_id = tests.id('org_x')),
          'sub_x2 active', 'and replaces it');
select is(public.apply_stripe_event(pg_temp.event('evt_x3_new', 'customer.subscription.created', 2000000060,
            pg_temp.sub('sub_x3', 'cus_x', 'active', 3, false, 2002600060))),
          'ignored', 'a second live subscription does not replace the first');

-- ## Every order of a subscription's events ends in the same state
create function pg_temp.orders_agree(events jsonb, expected text) returns text
language plpgsql as $$
declare
  n integer := jsonb_array_length(events);
  perm integer[];
  org uuid;
  tag text;
  i integer;
  states text[] := '{}';
  ended text;
begin
  for perm in
    with recursive p(seq) as (
      select array[]::integer[]
      union all
      select seq || k from p, generate_series(0, n - 1) k where not k = any (seq))
    select seq from p where cardinality(seq) = n
  loop
    org := gen_random_uuid();
    tag := replace(org::text, '-', '');
    insert into public.organizations (id, name, slug, plan_key) values (org, 'Perm', 'p-' || tag, 'tests_plan');
    foreach i in array perm loop
      perform public.apply_stripe_event(
        replace(replace(replace(replace((events -> i)::text, 'ORG', org::text), 'sub_P', 'sub_' || tag),
                'evt_P', 'evt_' || tag), 'cus_P', 'cus_' || tag)::jsonb);
    end loop;
    ended := pg_temp.state('sub_' || tag);
    if ended is distinct from expected then
      return format('order %s ended in %s', perm, ended);
    end if;
  end loop;
  return 'all orders agree';
end
$$;

select is(pg_temp.orders_agree(jsonb_build_array(
  pg_temp.event('evt_P_1', 'customer.subscription.created', 2000001000,
    pg_temp.sub('sub_P', 'cus_P', 'incomplete', 1, false, 2002600000, '{"metadata": {"org_id": "ORG"}}')),
  pg_temp.event('evt_P_2', 'customer.subscription.updated', 2000001001,
    pg_temp.sub('sub_P', 'cus_P', 'active', 2, false, 2002600000, '{"metadata": {"org_id": "ORG"}}')),
  pg_temp.event('evt_P_3', 'customer.subscription.updated', 2000001002,
    pg_temp.sub('sub_P', 'cus_P', 'active', 3, true, 2002600000, '{"metadata": {"org_id": "ORG"}}')),
  pg_temp.event('evt_P_4', 'invoice.payment_failed', 2000001003, pg_temp.invoice('sub_P', 'cus_P')),
  pg_temp.event('evt_P_5', 'invoice.payment_succeeded', 2000001004, pg_temp.invoice('sub_P', 'cus_P'))),
  'active tests_plan seats=3 end=2002600000 grace= addons=tests_voicex1'),
  'all orders agree', 'created, two updates, a failed invoice and a payment_succeeded: all 120 orders end active with 3 seats and the add-on');

select is(pg_temp.orders_agree(jsonb_build_array(
  pg_temp.event('evt_P_1', 'customer.subscription.created', 2000002000,
    pg_temp.sub('sub_P', 'cus_P', 'active', 2, true, 2002600000, '{"metadata": {"org_id": "ORG"}}')),
  pg_temp.event('evt_P_2', 'invoice.payment_failed', 2000002001, pg_temp.invoice('sub_P', 'cus_P')),
  pg_temp.event('evt_P_3', 'customer.subscription.updated', 2000002002,
    pg_temp.sub('sub_P', 'cus_P', 'past_due', 2, true, 2002600000, '{"metadata": {"org_id": "ORG"}}')),
  pg_temp.event('evt_P_4', 'customer.subscription.deleted', 2000002003,
    pg_temp.sub('sub_P', 'cus_P', 'canceled', 2, true, 2002600000, '{"metadata": {"org_id": "ORG"}}'))),
  'canceled tests_plan seats=2 end=2002600000 grace= addons=tests_voicex1'),
  'all orders agree', 'created, a failed invoice, past_due, deleted: all 24 orders end canceled');

select is(pg_temp.orders_agree(jsonb_build_array(
  pg_temp.event('evt_P_1', 'customer.subscription.created', 2000003000,
    pg_temp.sub('sub_P', 'cus_P', 'active', 5, false, 2002600000, '{"metadata": {"org_id": "ORG"}}')),
  pg_temp.event('evt_P_2', 'invoice.payment_failed', 2000003001, pg_temp.invoice('sub_P', 'cus_P')),
  pg_temp.event('evt_P_3', 'invoice.payment_failed', 2000003002, pg_temp.invoice('sub_P', 'cus_P'))),
  format('past_due tests_plan seats=5 end=2002600000 grace=%s addons=', 2000003001 + 10 * 86400)),
  'all orders agree', 'two failures in any order: past_due, grace from the first failure (10 days on this plan)');

-- ## Events waiting for their organization
select is(public.apply_stripe_event(pg_temp.event('evt_w_sub', 'customer.subscription.created', 1700004000,
            pg_temp.sub('sub_w', 'cus_w', 'active', 2, true, 2002600000))),
          'unmatched', 'a subscription of a customer not linked yet is unmatched');
select is(public.apply_stripe_event(pg_temp.event('evt_w_fail', 'invoice.payment_failed', 1700004001,
            pg_temp.invoice('sub_w', 'cus_w'))),
          'unmatched', 'so is its invoice');
select is(public.apply_stripe_event(pg_temp.event('evt_w_cs', 'checkout.session.completed', 1700004002,
            jsonb_build_object('id', 'cs_w', 'object', 'checkout.session', 'mode', 'subscription', 'customer', 'cus_w',
                               'subscription', 'sub_w', 'metadata', jsonb_build_object('org_id', tests.id('org_b'))))),
          'applied', 'the checkout links the customer (metadata.org_id)');
select is(pg_temp.state('sub_w'), format('past_due tests_plan seats=2 end=2002600000 grace=%s addons=tests_voicex1', 1700004001 + 10 * 86400),
          'and the waiting events are applied in Stripe''s order');
select is((select array_agg(outcome order by event_id) from public.stripe_webhook_events where event_id in ('evt_w_sub', 'evt_w_fail')),
          array['applied', 'applied'], 'the ledger records them as applied');

-- ## Grace, read-only after it, add-on features on payment and off on cancellation
select is(public.apply_stripe_event(pg_temp.event('evt_a_fail', 'invoice.payment_failed', extract(epoch from now() - interval '1 day')::bigint,
            pg_temp.invoice('sub_a', 'cus_a'))), 'applied', 'a failed payment of org A is applied');
select is((select status || ' ' || (grace_until = (select stripe_created_at from public.stripe_webhook_events
                                                    where event_id = 'evt_a_fail') + interval '10 days')
             from public.subscriptions where stripe_subscription_id = 'sub_a'),
          'past_due true', 'past_due with the grace period of the plan, from the failure');
reset role;
select tests.authenticate_as('rep');
select is(public.session_context() -> 'access', '{"mode": "full", "reason": null, "warnings": ["payment_failed_in_grace"]}',
          'in grace a member keeps full access with a warning');
select tests.clear_authentication();
set local role service_role;
select is(public.apply_stripe_event(pg_temp.event('evt_a_paid', 'invoice.paid', extract(epoch from now())::bigint,
            pg_temp.invoice('sub_a', 'cus_a'))), 'applied', 'invoice.paid is applied');
select is((select status || ' ' || coalesce(grace_until::text, 'no grace') from public.subscriptions where stripe_subscription_id = 'sub_a'),
          'active no grace', 'and clears the grace period');

select is(public.apply_stripe_event(pg_temp.event('evt_b_sub', 'customer.subscription.created', extract(epoch from now() - interval '20 days')::bigint,
            pg_temp.sub('sub_b', 'cus_b', 'active', 2, true, 2002600000, jsonb_build_object('metadata', jsonb_build_object('org_id', tests.id('org_b')))))),
          'ignored', 'org B has sub_w live: another live subscription is ignored');
select is(private.flag_value('voice_ai', tests.id('other')), 'true', 'the paid add-on turns its feature on (org B''s member)');
reset role;
select tests.authenticate_as('other');
select is(public.session_context() -> 'access' ->> 'mode', 'read_only', 'the failure of org B (in 2023) is past its grace period: read-only');
select tests.clear_authentication();
set local role service_role;
select is(public.apply_stripe_event(pg_temp.event('evt_w_del', 'customer.subscription.deleted', 1700004001 + 12 * 86400,
            pg_temp.sub('sub_w', 'cus_w', 'canceled', 2, true, 2002600000))), 'applied', 'the subscription is deleted');
select is(private.flag_value('voice_ai', tests.id('other')), 'false', 'cancellation turns the add-on''s feature off');

-- ## Payment holds (delayed capture)
select is(public.apply_stripe_event(pg_temp.event('evt_h_cs', 'checkout.session.completed', 2000005010,
            jsonb_build_object('id', 'cs_h', 'object', 'checkout.session', 'mode', 'payment', 'customer', 'cus_a',
                               'payment_intent', 'pi_h', 'payment_status', 'unpaid', 'amount_total', 120000,
                               'currency', 'usd', 'created', 2000005000,
                               'metadata', jsonb_build_object('org_id', tests.id('org_a'), 'description', 'Pilot')))),
          'applied', 'a completed mode=payment checkout is applied');
select is((select format('%s %s %s %s', status, amount_cents, description, extract(epoch from capture_before)::bigint)
             from public.payment_holds where stripe_payment_intent_id = 'pi_h'),
          format('requires_capture 120000 Pilot %s', 2000005000 + 7 * 86400), 'and records the hold, due 7 days after the session');
select is(public.apply_stripe_event(pg_temp.event('evt_h_cap', 'payment_intent.amount_capturable_updated', 2000005011,
            jsonb_build_object('id', 'pi_h', 'object', 'payment_intent', 'customer', 'cus_a', 'amount', 120000,
                               'amount_capturable', 120000, 'currency', 'usd', 'created', 2000005005,
                               'capture_method', 'manual', 'status', 'requires_capture'))),
          'applied', 'payment_intent.amount_capturable_updated is applied');
select is((select extract(epoch from capture_before)::bigint from public.payment_holds where stripe_payment_intent_id = 'pi_h'),
          (2000005005 + 7 * 86400)::bigint, 'the deadline is the intent''s creation + 7 days');
select is(public.apply_stripe_event(pg_temp.event('evt_h_cancel', 'payment_intent.canceled', 2000005020,
            jsonb_build_object('id', 'pi_h', 'object', 'payment_intent', 'customer', 'cus_a', 'amount', 120000,
                               'amount_capturable', 0, 'currency', 'usd', 'created', 2000005005, 'capture_method', 'manual'))),
          'applied', 'payment_intent.canceled is applied');
select is(public.apply_stripe_event(pg_temp.event('evt_h_cap2', 'payment_intent.amount_capturable_updated', 2000005030,
            jsonb_build_object('id', 'pi_h', 'object', 'payment_intent', 'customer', 'cus_a', 'amount', 120000,
                               'amount_capturable', 120000, 'currency', 'usd', 'created', 2000005005, 'capture_method', 'manual'))),
          'stale', 'an authorisation after the cancellation changes nothing');
select is((select status || ' ' || (canceled_at = to_timestamp(2000005020)) from public.payment_holds where stripe_payment_intent_id = 'pi_h'),
          'canceled true', 'the hold stays canceled');

select is(public.apply_stripe_event(pg_temp.event('evt_g_cancel', 'payment_intent.canceled', 2000006020,
            jsonb_build_object('id', 'pi_g', 'object', 'payment_intent', 'customer', 'cus_a', 'amount', 5000,
                               'amount_capturable', 0, 'currency', 'eur', 'created', 2000006000, 'capture_method', 'manual'))),
          'applied', 'a cancellation delivered before the authorisation is applied');
select is(public.apply_stripe_event(pg_temp.event('evt_g_cap', 'payment_intent.amount_capturable_updated', 2000006010,
            jsonb_build_object('id', 'pi_g', 'object', 'payment_intent', 'customer', 'cus_a', 'amount', 5000,
                               'amount_capturable', 5000, 'currency', 'eur', 'created', 2000006000, 'capture_method', 'manual'))),
          'stale', 'and the authorisation arriving after it does not revive the hold');
select is(public.apply_stripe_event(pg_temp.event('evt_s_cap', 'payment_intent.amount_capturable_updated', 2000007010,
            jsonb_build_object('id', 'pi_s', 'object', 'payment_intent', 'customer', 'cus_a', 'amount', 7000,
                               'amount_capturable', 7000, 'currency', 'usd', 'created', 2000007000, 'capture_method', 'manual'))),
          'applied', 'an authorisation of a known customer records a hold');
select is(public.apply_stripe_event(pg_temp.event('evt_s_ok', 'payment_intent.succeeded', 2000007020,
            jsonb_build_object('id', 'pi_s', 'object', 'payment_intent', 'customer', 'cus_a', 'amount', 7000,
                               'amount_received', 7000, 'currency', 'usd', 'created', 2000007000, 'capture_method', 'manual'))),
          'applied', 'payment_intent.succeeded is applied');
select is((select status || ' ' || (captured_at = to_timestamp(2000007020)) from public.payment_holds where stripe_payment_intent_id = 'pi_s'),
          'captured true', 'and captures the hold');
select is(public.apply_stripe_event(pg_temp.event('evt_auto', 'payment_intent.succeeded', 2000007030,
            jsonb_build_object('id', 'pi_auto', 'object', 'payment_intent', 'customer', 'cus_a', 'amount', 900,
                               'currency', 'usd', 'created', 2000007000, 'capture_method', 'automatic'))),
          'ignored', 'an automatically captured payment is no hold');

-- ## Signed but unusable: recorded, never applied, never refused
select is(public.apply_stripe_event(pg_temp.event('evt_bad_status', 'customer.subscription.updated', 2000008000,
            pg_temp.sub('sub_x2', 'cus_x', 'exploded', 3, false, 2002600050))),
          'malformed', 'an unknown subscription status is malformed');
select is((select status from public.subscriptions where stripe_subscription_id = 'sub_x2'), 'active', 'and changes nothing');
select is(public.apply_stripe_event(pg_temp.event('evt_bad_qty', 'customer.subscription.updated', 2000008001,
            jsonb_set(pg_temp.sub('sub_x2', 'cus_x', 'active', 3, false, 2002600050), '{items,data,0,quantity}', '"many"'))),
          'malformed', 'a quantity that is not a number is malformed');
select ok((select detail is not null from public.stripe_webhook_events where event_id = 'evt_bad_qty'),
          'with the reason in the ledger');
select is(public.apply_stripe_event('"not an event"'), 'malformed', 'a body that is no event is recorded as malformed');
select is(public.apply_stripe_event('"not an event"'), 'duplicate', 'the same body again is a duplicate');
select is(public.apply_stripe_event(pg_temp.event('evt_unknown', 'customer.updated', 2000008002, '{"id": "cus_x"}')),
          'ignored', 'a type not handled is recorded and ignored');
reset role;

select * from finish();
rollback;
