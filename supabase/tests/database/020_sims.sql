-- sims and sim_stages × select/insert/update/delete × every persona, and the funnel invariants.
begin;
select plan(77);
select tests.create_world();
select tests.create_member_data();

select is(tests.seen(persona, $$select tests.name(id) from sims$$), expected,
          format('sims: %s reads %s', persona, expected))
  from (values
    ('rep', '{sim_a,sim_global}'::text[]), ('team_manager', '{sim_a,sim_global}'),
    ('enterprise_tm', '{sim_a,sim_global}'), ('enterprise_admin', '{sim_a,sim_global}'),
    ('platform_admin', '{sim_a,sim_b,sim_global}'), ('other', '{sim_b,sim_global}'),
    ('suspended', '{}'), ('read_only', '{sim_a,sim_global}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona, $$
  insert into sims (org_id, key, name, industry, average_deal_value_cents)
  values (tests.id('org_a'), 'second', 'Second', 'Solar', 100000)$$),
  expected, format('sims: %s creating a SIM for org A gets %s', persona, expected))
  from (values
    ('rep', '42501 new row violates row-level security policy for table "sims"'),
    ('team_manager', '42501 new row violates row-level security policy for table "sims"'),
    ('enterprise_tm', '42501 new row violates row-level security policy for table "sims"'),
    ('enterprise_admin', '42501 new row violates row-level security policy for table "sims"'),
    ('platform_admin', '42501 new row violates row-level security policy for table "sims"'),
    ('other', '42501 new row violates row-level security policy for table "sims"'),
    ('suspended', '42501 new row violates row-level security policy for table "sims"'),
    ('read_only', '42501 new row violates row-level security policy for table "sims"'),
    ('anon', '42501 new row violates row-level security policy for table "sims"')
  ) v(persona, expected);

select is(tests.try_as(persona, $$update sims set status = 'retired' where id in (tests.id('sim_a'), tests.id('sim_global'))$$),
  expected, format('sims: %s retiring org A''s and the global SIM gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select is(tests.try_as(persona, $$delete from sims where id = tests.id('sim_global')$$),
  'ok 0', format('sims: %s cannot delete the global SIM', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin',
                    'other', 'suspended', 'read_only', 'anon']) persona;

-- stages follow their SIM
select is(tests.seen(persona, $$select distinct tests.name(sim_id) from sim_stages$$), expected,
          format('sim_stages: %s reads the stages of %s', persona, expected))
  from (values
    ('rep', '{sim_a,sim_global}'::text[]), ('team_manager', '{sim_a,sim_global}'),
    ('enterprise_tm', '{sim_a,sim_global}'), ('enterprise_admin', '{sim_a,sim_global}'),
    ('platform_admin', '{sim_a,sim_b,sim_global}'), ('other', '{sim_b,sim_global}'),
    ('suspended', '{}'), ('read_only', '{sim_a,sim_global}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona, $$
  update sim_stages set position = position + 10 where sim_id = tests.id('sim_a');
  insert into sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
  values (tests.id('sim_a'), 1, 'door', 'Door knock', 'custom', 0.5)$$),
  expected, format('sim_stages: %s adding a first stage to org A''s SIM gets %s', persona, expected))
  from (values
    ('rep', '42501 new row violates row-level security policy for table "sim_stages"'),
    ('team_manager', '42501 new row violates row-level security policy for table "sim_stages"'),
    ('enterprise_tm', '42501 new row violates row-level security policy for table "sim_stages"'),
    ('enterprise_admin', '42501 new row violates row-level security policy for table "sim_stages"'),
    ('platform_admin', '42501 new row violates row-level security policy for table "sim_stages"'),
    ('other', '42501 new row violates row-level security policy for table "sim_stages"'),
    ('suspended', '42501 new row violates row-level security policy for table "sim_stages"'),
    ('read_only', '42501 new row violates row-level security policy for table "sim_stages"'),
    ('anon', '42501 new row violates row-level security policy for table "sim_stages"')
  ) v(persona, expected);

select is(tests.try_as(persona, $$update sim_stages set conversion_rate = 0.5 where key = 'call'$$),
  expected, format('sim_stages: %s changing every call rate gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select is(tests.try_as(persona, $$delete from sim_stages where key = 'appointment'$$),
  expected, format('sim_stages: %s deleting every appointment stage gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

-- invariants
select throws_ok(
  $$insert into sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
    values (tests.id('sim_a'), 4, 'bonus', 'Bonus', 'call', 0.5); set constraints all immediate$$,
  '23514', format('the funnel of SIM %s must end in exactly one deal stage', tests.id('sim_a')),
  'a funnel must end in its deal stage');
select throws_ok(
  $$insert into sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
    values (tests.id('sim_a'), 4, 'close', 'Close', 'deal', 0.5)$$,
  '23514', null, 'the deal stage has no conversion rate');
select throws_ok(
  $$update sim_stages set conversion_rate = 0 where sim_id = tests.id('sim_a') and position = 1$$,
  '23514', null, 'a conversion rate of zero is refused');
update organizations set max_sims = 1 where id = tests.id('org_a');
select throws_ok(
  $$insert into sims (org_id, key, name, industry, average_deal_value_cents) values (tests.id('org_a'), 'x', 'X', 'Solar', 1)$$,
  '23514', format('organization %s has reached its SIM limit (1)', tests.id('org_a')),
  'an organization owns no more SIMs than its limit');
select is((select income_per_deal_cents from sims where id = tests.id('sim_global')), 30000::bigint,
  'the income per deal is the deal value times the commission rate');

select * from finish();
rollback;
