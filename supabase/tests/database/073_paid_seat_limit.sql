-- Seats counted against what is paid: the Stripe subscription's quantity caps the plan's
-- max_users, an override still decides alone, the database refuses the member beyond, and
-- session_context and admin_organizations show the same limit. SIMs: the plan the webhooks
-- put in force decides.
begin;
select plan(13);
select tests.create_world();

insert into public.plans (key, name, price_cents, billing_interval, max_users, max_sims, features)
values ('tests_small', 'Small', 500, 'month', 3, 1, '{}');

create function pg_temp.seats_event(event_id text, created bigint, plan text, quantity integer) returns jsonb
language sql stable as $$
  select jsonb_build_object('id', event_id, 'type', 'customer.subscription.updated', 'created', created,
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', 'sub_seats', 'object', 'subscription', 'customer', 'cus_seats', 'status', 'active',
      'metadata', jsonb_build_object('org_id', tests.id('org_a')),
      'items', jsonb_build_object('data', jsonb_build_array(jsonb_build_object(
        'quantity', quantity, 'price', jsonb_build_object('id', 'price_x', 'lookup_key', plan)))))))
$$;

create function pg_temp.join_org_a(persona text) returns text
language plpgsql as $$
begin
  perform tests.add_member(persona, 'org_a', 'rep', 'team_a1');
  return 'joined';
exception when check_violation then
  return sqlerrm;
end
$$;

select is(private.org_seat_limit(tests.id('org_a')), 10, 'without a Stripe subscription the plan''s max_users (10) is the limit');

set local role service_role;
select is(public.apply_stripe_event(pg_temp.seats_event('evt_seats_5', 2000000000, 'tests_plan', 5)), 'applied',
          'a subscription for 5 seats is applied');
reset role;
select is(private.org_seat_limit(tests.id('org_a')), 5, 'the paid quantity (5) is now the limit');
select is(tests.seen('platform_admin', $$select seat_limit::text from admin_organizations where id = tests.id('org_a')$$),
          '{5}', 'the admins'' view of organizations shows the same limit');
select alike(pg_temp.join_org_a('sixth'), 'organization % has no free seat (limit 5)',
            'org A has 5 members: a sixth is refused by the database');

set local role service_role;
select is(public.apply_stripe_event(pg_temp.seats_event('evt_seats_6', 2000000010, 'tests_plan', 6)), 'applied',
          'buying a sixth seat is applied');
reset role;
select is(pg_temp.join_org_a('sixth_again'), 'joined', 'and the sixth member joins');
select tests.authenticate_as('rep');
select is((public.session_context() -> 'plan' ->> 'max_users')::integer, 6,
          'session_context reports the same limit');
select tests.clear_authentication();

set local role service_role;
select is(public.apply_stripe_event(pg_temp.seats_event('evt_seats_50', 2000000020, 'tests_plan', 50)), 'applied',
          'a quantity beyond the plan is applied');
reset role;
select is(private.org_seat_limit(tests.id('org_a')), 10, 'but the plan''s max_users still caps the seats');
update public.organizations set max_users = 20 where id = tests.id('org_a');
select is(private.org_seat_limit(tests.id('org_a')), 20, 'an organization''s override decides alone');

-- SIMs: a downgrade through Stripe to a one-SIM plan refuses a second SIM.
set local role service_role;
select is(public.apply_stripe_event(pg_temp.seats_event('evt_small', 2000000030, 'tests_small', 3)), 'applied',
          'a downgrade to the one-SIM plan is applied');
reset role;
insert into public.sims (org_id, key, name, industry, average_deal_value_cents) values (tests.id('org_a'), 'one', 'One', 'Solar', 100000);
select throws_ok($$insert into public.sims (org_id, key, name, industry, average_deal_value_cents)
                   values (tests.id('org_a'), 'two', 'Two', 'Solar', 100000)$$,
                 '23514', null, 'on the plan Stripe put in force (1 SIM) a second SIM is refused');

select * from finish();
rollback;
