-- subscriptions, subscription_add_ons, stripe_customers, payment_holds, stripe_webhook_events ×
-- select/insert/update/delete × every persona; out-of-order Stripe states.
begin;
select plan(112);
select tests.create_world();
select tests.create_billing();
insert into add_ons (key, name, price_cents, billing_interval) values ('tests_voice', 'Voice', 1, 'month')
  on conflict (key) do nothing;
insert into subscription_add_ons (subscription_id, add_on_key) values (tests.id('sub_a'), 'tests_voice');

select is(tests.seen(persona, $$select tests.name(id) from subscriptions$$), expected,
          format('subscriptions: %s reads %s', persona, expected))
  from (values
    ('rep', '{sub_a}'::text[]), ('team_manager', '{sub_a}'), ('enterprise_tm', '{sub_a}'),
    ('enterprise_admin', '{sub_a}'), ('platform_admin', '{sub_a,sub_c}'), ('other', '{}'),
    ('suspended', '{sub_c}'), ('read_only', '{sub_a}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.seen(persona, $$select tests.name(subscription_id) || '/' || add_on_key from subscription_add_ons$$), expected,
          format('subscription_add_ons: %s reads %s', persona, expected))
  from (values
    ('rep', '{sub_a/tests_voice}'::text[]), ('enterprise_admin', '{sub_a/tests_voice}'),
    ('platform_admin', '{sub_a/tests_voice}'), ('other', '{}'), ('suspended', '{}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.seen(persona, $$select stripe_customer_id from stripe_customers$$), expected,
          format('stripe_customers: %s reads %s', persona, expected))
  from (values
    ('rep', '{}'::text[]), ('team_manager', '{}'), ('enterprise_tm', '{}'),
    ('enterprise_admin', '{cus_a}'), ('platform_admin', '{cus_a,cus_c}'), ('other', '{}'),
    ('suspended', '{}'), ('read_only', '{}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.seen(persona, $$select tests.name(id) from payment_holds$$), expected,
          format('payment_holds: %s reads %s', persona, expected))
  from (values
    ('rep', '{}'::text[]), ('team_manager', '{}'), ('enterprise_tm', '{}'),
    ('enterprise_admin', '{hold_a}'), ('platform_admin', '{hold_a,hold_b}'), ('other', '{}'),
    ('suspended', '{}'), ('read_only', '{}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.seen(persona, $$select event_id from stripe_webhook_events$$), expected,
          format('stripe_webhook_events: %s reads %s', persona, expected))
  from (values
    ('rep', '{}'::text[]), ('enterprise_admin', '{}'), ('platform_admin', '{evt_fixture}'), ('anon', '{}')
  ) v(persona, expected);

-- nobody writes billing state through the API
select is(tests.try_as(persona, statement), expected,
          format('%s: %s gets %s', split_part(statement, ' ', 3), persona, expected))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin', 'other', 'suspended', 'read_only', 'anon']) persona,
       (values
         ($$insert into subscriptions (org_id, plan_key, status) values (tests.id('org_b'), 'tests_plan', 'active')$$, '42501 new row violates row-level security policy for table "subscriptions"'),
         ($$update subscriptions set status = 'active'$$, 'ok 0'),
         ($$delete from subscriptions$$, 'ok 0'),
         ($$insert into stripe_customers (org_id, stripe_customer_id) values (tests.id('org_b'), 'cus_x')$$, '42501 new row violates row-level security policy for table "stripe_customers"'),
         ($$delete from stripe_customers$$, 'ok 0'),
         ($$update payment_holds set status = 'captured', captured_at = now()$$, 'ok 0'),
         ($$insert into stripe_webhook_events (event_id, type, stripe_created_at) values ('evt_x', 'x', now())$$, '42501 new row violates row-level security policy for table "stripe_webhook_events"'),
         ($$delete from subscription_add_ons$$, 'ok 0')
       ) v(statement, expected);

-- invariants for the webhook's writes
update subscriptions set status = 'active', stripe_state_at = '2026-11-24 12:00' where id = tests.id('sub_c');
update subscriptions set status = 'past_due', stripe_state_at = '2026-11-24 11:00' where id = tests.id('sub_c');
select is((select status from subscriptions where id = tests.id('sub_c')), 'active',
  'an older Stripe state never overwrites a newer one');
select throws_ok($$insert into stripe_webhook_events (event_id, type, stripe_created_at) values ('evt_fixture', 'invoice.paid', now())$$,
  '23505', null, 'an event id is processed once');
select throws_ok($$update payment_holds set status = 'captured' where id = tests.id('hold_a')$$,
  '23514', null, 'a captured hold records when');

select * from finish();
rollback;
