-- teams × select/insert/update/delete × every persona.
begin;
select plan(36);
select tests.create_world();

select is(tests.seen(persona, $$select tests.name(id) from teams$$), expected,
          format('teams: %s reads %s', persona, expected))
  from (values
    ('rep', '{team_a1,team_a2}'::text[]), ('team_manager', '{team_a1,team_a2}'),
    ('enterprise_tm', '{team_a1,team_a2}'), ('enterprise_admin', '{team_a1,team_a2}'),
    ('platform_admin', '{team_a1,team_a2,team_b1}'), ('other', '{team_b1}'),
    ('suspended', '{}'), ('read_only', '{team_a1,team_a2}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$insert into teams (org_id, name) values (tests.id('org_a'), 'A3')$$),
  expected, format('teams: %s creating a team in org A gets %s', persona, expected))
  from (values
    ('rep', '42501 new row violates row-level security policy for table "teams"'),
    ('team_manager', '42501 new row violates row-level security policy for table "teams"'),
    ('enterprise_tm', 'ok 1'), ('enterprise_admin', 'ok 1'),
    ('platform_admin', '42501 new row violates row-level security policy for table "teams"'),
    ('other', '42501 new row violates row-level security policy for table "teams"'),
    ('suspended', '42501 new row violates row-level security policy for table "teams"'),
    ('read_only', '42501 new row violates row-level security policy for table "teams"'),
    ('anon', '42501 new row violates row-level security policy for table "teams"')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$update teams set division = 'North' where id = tests.id('team_a1')$$),
  expected, format('teams: %s moving team A1 to another division gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 1'),
    ('enterprise_admin', 'ok 1'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select is(tests.try_as(persona, $$delete from teams where id = tests.id('team_a2')$$),
  expected, format('teams: %s deleting team A2 gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 1'),
    ('enterprise_admin', 'ok 1'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select * from finish();
rollback;
