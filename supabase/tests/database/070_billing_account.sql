-- billing_account() and record_stripe_customer() × every persona: only the organization's
-- enterprise admin (or an individual account's owner), in their own session, sees the billing
-- account and records its Stripe customer, once; a lapsed subscription does not lock billing.
begin;
select plan(23);
select tests.create_world();

select is(tests.try_as(persona, $$select * from billing_account()$$),
  '42501 only the organization''s enterprise admin (or an individual account''s owner) manages billing',
  format('billing_account: %s is refused', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'other', 'suspended', 'platform_admin',
                    'read_only']) persona;
select is(tests.try_as('anon', $$select * from billing_account()$$),
  '42501 permission denied for function billing_account', 'billing_account: anon may not call it');

select tests.authenticate_as('enterprise_admin');
select results_eq($$select org_id, org_kind, billing_email, stripe_customer_id, member_count from billing_account()$$,
  $$values (tests.id('org_a'), 'team', 'enterprise_admin@example.test', null::text, 5)$$,
  'the enterprise admin sees org A''s billing account, no customer yet');
select tests.clear_authentication();

select is(tests.try_as('rep', $$select record_stripe_customer('cus_rep')$$),
  '42501 only the organization''s enterprise admin (or an individual account''s owner) manages billing',
  'record_stripe_customer: a rep is refused');
select is(tests.try_as('anon', $$select record_stripe_customer('cus_anon')$$),
  '42501 permission denied for function record_stripe_customer', 'record_stripe_customer: anon may not call it');

-- An impersonation session of the enterprise admin buys nothing.
select set_config('role', 'authenticated', true);
select set_config('request.jwt.claims', jsonb_build_object('sub', tests.id('enterprise_admin'),
  'role', 'authenticated', 'impersonator', tests.id('platform_admin'), 'read_only', true)::text, true);
select throws_ok($$select record_stripe_customer('cus_imp')$$, '42501', null,
  'an impersonation session records no customer');
select throws_ok($$select * from billing_account()$$, '42501', null,
  'an impersonation session sees no billing account');
select tests.clear_authentication();

select tests.authenticate_as('enterprise_admin');
select throws_ok($$select record_stripe_customer('acct_1')$$, '22023', 'not a Stripe customer id',
  'only a customer id is recorded');
select is(record_stripe_customer('cus_first'), 'cus_first', 'the first customer is recorded');
select is(record_stripe_customer('cus_second'), 'cus_first', 'a second one changes nothing: the first is answered');
select is((select stripe_customer_id from billing_account()), 'cus_first', 'the account shows the customer');
select tests.clear_authentication();
select is((select count(*) from stripe_customers where org_id = tests.id('org_a')), 1::bigint,
  'one customer row for org A');
select is((select email from stripe_customers where org_id = tests.id('org_a')), 'enterprise_admin@example.test',
  'recorded with the admin''s e-mail');

-- The owner of an individual account manages its billing.
insert into organizations (id, name, slug, plan_key, kind)
values (tests.named('org_solo'), 'Solo', 'solo-owner', 'tests_plan', 'individual');
select tests.add_member('solo_owner', 'org_solo', 'rep');
select tests.authenticate_as('solo_owner');
select is((select org_id from billing_account()), tests.id('org_solo'), 'an individual account''s owner sees its billing');
select is(record_stripe_customer('cus_solo'), 'cus_solo', 'and records its customer');
select tests.clear_authentication();

-- A lapsed subscription makes the organization read-only, but its admin can still pay.
insert into subscriptions (org_id, plan_key, status, grace_until)
values (tests.id('org_b'), 'tests_plan', 'unpaid', now() - interval '1 day');
select tests.add_member('admin_b', 'org_b', 'enterprise_admin');
select tests.authenticate_as('admin_b');
select ok(private.is_read_only(), 'org B''s lapsed subscription makes its admin read-only');
select is((select org_id from billing_account()), tests.id('org_b'), 'yet its billing account answers');
select tests.clear_authentication();

select * from finish();
rollback;
