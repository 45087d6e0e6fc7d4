-- team_managers × select/insert/update/delete × every persona, and its role invariant.
begin;
select plan(38);
select tests.create_world();

select is(tests.seen(persona, $$select tests.name(team_id) || '/' || tests.name(user_id) from team_managers$$),
          expected, format('team_managers: %s reads %s', persona, expected))
  from (values
    ('rep', '{}'::text[]), ('team_manager', '{team_a1/team_manager}'),
    ('enterprise_tm', '{team_a1/team_manager}'), ('enterprise_admin', '{team_a1/team_manager}'),
    ('platform_admin', '{team_a1/team_manager}'), ('other', '{}'), ('suspended', '{}'),
    ('read_only', '{}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$insert into team_managers (team_id, user_id, org_id) values (tests.id('team_a2'), tests.id('team_manager'), tests.id('org_a'))$$),
  expected, format('team_managers: %s giving the team manager team A2 gets %s', persona, expected))
  from (values
    ('rep', '42501 new row violates row-level security policy for table "team_managers"'),
    ('team_manager', '42501 new row violates row-level security policy for table "team_managers"'),
    ('enterprise_tm', 'ok 1'), ('enterprise_admin', 'ok 1'),
    ('platform_admin', '42501 new row violates row-level security policy for table "team_managers"'),
    ('other', '42501 new row violates row-level security policy for table "team_managers"'),
    ('suspended', '42501 new row violates row-level security policy for table "team_managers"'),
    ('read_only', '42501 new row violates row-level security policy for table "team_managers"'),
    ('anon', '42501 new row violates row-level security policy for table "team_managers"')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$update team_managers set team_id = tests.id('team_a2') where user_id = tests.id('team_manager')$$),
  expected, format('team_managers: %s editing an assignment in place gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select is(tests.try_as(persona, $$delete from team_managers where user_id = tests.id('team_manager')$$),
  expected, format('team_managers: %s unassigning the team manager gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 1'),
    ('enterprise_admin', 'ok 1'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select throws_ok(
  $$insert into team_managers (team_id, user_id, org_id) values (tests.id('team_a2'), tests.id('rep'), tests.id('org_a'))$$,
  '23514', format('user %s is not a team manager or enterprise TM', tests.id('rep')),
  'a rep cannot be made a team''s manager');
select throws_ok(
  $$insert into team_managers (team_id, user_id, org_id) values (tests.id('team_b1'), tests.id('team_manager'), tests.id('org_a'))$$,
  '23503', null, 'a manager cannot manage a team of another organization');

select * from finish();
rollback;
