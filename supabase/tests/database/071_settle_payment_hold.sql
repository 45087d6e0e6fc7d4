-- settle_payment_hold() × every persona: only org A's billing admin, in their own session,
-- records the outcome of org A's hold; only an open hold moves; another org's hold is invisible.
begin;
select plan(14);
select tests.create_world();
select tests.create_billing();

select is(tests.try_as(persona, format($$select settle_payment_hold(%L, 'captured')$$, tests.id('hold_a'))),
  '42501 only the organization''s enterprise admin (or an individual account''s owner) manages billing',
  format('settle_payment_hold: %s is refused', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'other', 'suspended', 'platform_admin',
                    'read_only']) persona;
select is(tests.try_as('anon', format($$select settle_payment_hold(%L, 'captured')$$, tests.id('hold_a'))),
  '42501 permission denied for function settle_payment_hold', 'settle_payment_hold: anon may not call it');
select is((select status from payment_holds where id = tests.id('hold_a')), 'requires_capture',
  'the refused calls changed nothing');

select tests.authenticate_as('enterprise_admin');
select throws_ok(format($$select settle_payment_hold(%L, 'paid')$$, tests.id('hold_a')), '22023',
  'outcome must be captured or canceled', 'only captured or canceled');
select is((select count(*) from settle_payment_hold(tests.id('hold_b'), 'canceled')), 0::bigint,
  'another organization''s hold is not answered');
select is((select status || ' ' || (captured_at is not null)::text from settle_payment_hold(tests.id('hold_a'), 'captured')),
  'captured true', 'the admin records the capture');
select is((select status from settle_payment_hold(tests.id('hold_a'), 'canceled')), 'captured',
  'a settled hold does not move again');
select tests.clear_authentication();
select is((select status from payment_holds where id = tests.id('hold_b')), 'requires_capture',
  'org B''s hold is untouched');

select * from finish();
rollback;
