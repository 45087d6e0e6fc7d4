-- organizations × select/insert/update/delete × every persona.
begin;
select plan(39);
select tests.create_world();

select is(tests.seen(persona, $$select tests.name(id) from organizations$$), expected,
          format('organizations: %s reads %s', persona, expected))
  from (values
    ('rep', '{org_a}'::text[]), ('team_manager', '{org_a}'), ('enterprise_tm', '{org_a}'),
    ('enterprise_admin', '{org_a}'), ('platform_admin', '{org_a,org_b,org_c}'),
    ('other', '{org_b}'), ('suspended', '{org_c}'), ('read_only', '{org_a}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$insert into organizations (name, slug, plan_key) values ('New', 'new-org', 'tests_plan')$$),
  expected, format('organizations: %s creating one gets %s', persona, expected))
  from (values
    ('rep', '42501 permission denied for table organizations'),
    ('team_manager', '42501 permission denied for table organizations'),
    ('enterprise_tm', '42501 permission denied for table organizations'),
    ('enterprise_admin', '42501 permission denied for table organizations'),
    ('platform_admin', '42501 permission denied for table organizations'),
    ('other', '42501 permission denied for table organizations'),
    ('suspended', '42501 permission denied for table organizations'),
    ('read_only', '42501 permission denied for table organizations'),
    ('anon', '42501 permission denied for table organizations')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$update organizations set name = 'Renamed', time_zone = 'Europe/Paris' where id = tests.id('org_a')$$),
  expected, format('organizations: %s renaming org A gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 1'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'),
    ('anon', '42501 permission denied for table organizations')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$update organizations set plan_key = 'tests_plan', max_users = 999 where id = tests.id('org_a')$$),
  expected, format('organizations: %s changing plan or limits gets %s', persona, expected))
  from (values
    ('rep', '42501 permission denied for table organizations'),
    ('enterprise_admin', '42501 permission denied for table organizations'),
    ('platform_admin', '42501 permission denied for table organizations')
  ) v(persona, expected);

select is(tests.try_as(persona, $$delete from organizations where id = tests.id('org_a')$$),
  expected, format('organizations: %s deleting org A gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select * from finish();
rollback;
