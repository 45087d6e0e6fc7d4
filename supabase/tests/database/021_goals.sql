-- goals × select/insert/update/delete × every persona, and its invariants.
begin;
select plan(44);
select tests.create_world();
select tests.create_member_data();

select is(tests.seen(persona, $$select tests.name(id) from goals$$), expected,
          format('goals: %s reads %s', persona, expected))
  from (values
    ('rep', '{goal_rep}'::text[]), ('team_manager', '{goal_rep}'),
    ('enterprise_tm', '{goal_rep,goal_rep2}'), ('enterprise_admin', '{goal_rep,goal_rep2}'),
    ('platform_admin', '{}'), ('other', '{goal_other}'), ('suspended', '{}'),
    ('read_only', '{goal_rep}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona, $$
  insert into goals (sim_id, income_target_cents, period_kind, period_start)
  values (tests.id('sim_global'), 500000, 'month', date '2026-04-01')$$),
  expected, format('goals: %s setting a goal of their own gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 1'), ('enterprise_tm', 'ok 1'),
    ('enterprise_admin', 'ok 1'),
    ('platform_admin', format('23503 user %s is not a member of an organization', tests.id('platform_admin'))),
    ('other', 'ok 1'),
    ('suspended', '42501 new row violates row-level security policy for table "goals"'),
    ('read_only', '42501 new row violates row-level security policy "read-only sessions insert nothing" for table "goals"'),
    ('anon', '42501 new row violates row-level security policy for table "goals"')
  ) v(persona, expected);

select is(tests.try_as(persona, $$
  insert into goals (user_id, sim_id, income_target_cents, period_kind, period_start)
  values (tests.id('rep'), tests.id('sim_global'), 500000, 'month', date '2026-04-01')$$),
  expected, format('goals: %s setting a goal for the rep gets %s', persona, expected))
  from (values
    ('team_manager', '42501 new row violates row-level security policy for table "goals"'),
    ('enterprise_admin', '42501 new row violates row-level security policy for table "goals"'),
    ('other', '42501 new row violates row-level security policy for table "goals"')
  ) v(persona, expected);

select is(tests.try_as(persona, $$update goals set income_target_cents = 1 where id = tests.id('goal_rep')$$),
  expected, format('goals: %s changing the rep''s goal gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select is(tests.try_as(persona, $$delete from goals where id = tests.id('goal_rep')$$),
  expected, format('goals: %s deleting the rep''s goal gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select is(tests.try_as('rep', $$insert into goals (sim_id, income_target_cents, period_kind, period_start)
                               values (tests.id('sim_b'), 1, 'month', date '2026-04-01')$$),
  format('23503 SIM %s is not available to organization %s', tests.id('sim_b'), tests.id('org_a')),
  'goals: a rep cannot use another organization''s SIM');
select is(tests.try_as('rep', $$update goals set user_id = tests.id('rep2') where id = tests.id('goal_rep')$$),
  '23514 the owner and organization of a goals row never change',
  'goals: a goal cannot be handed to someone else');
select throws_ok(
  $$insert into goals (user_id, sim_id, income_target_cents, period_kind, period_start)
    values (tests.id('rep'), tests.id('sim_global'), 1, 'quarter', date '2026-02-01')$$,
  '23514', null, 'a quarter starts in January, April, July or October');
select throws_ok(
  $$insert into goals (user_id, sim_id, income_target_cents, period_kind, period_start, time_zone)
    values (tests.id('rep'), tests.id('sim_global'), 1, 'month', date '2026-02-01', 'Mars/Olympus')$$,
  '23514', null, 'an unknown time zone is refused');
select is((select period_end from goals where id = tests.id('goal_rep')), date '2026-12-31',
  'a year''s goal ends on the last day of the year');

select * from finish();
rollback;
