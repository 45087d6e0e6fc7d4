-- profiles × select/insert/update/delete × every persona, and the sign-up trigger.
begin;
select plan(41);
select tests.create_world();

select is(tests.seen(persona, $$select tests.name(id) from profiles$$), expected,
          format('profiles: %s reads %s', persona, expected))
  from (values
    ('rep', '{enterprise_admin,enterprise_tm,rep,rep2,team_manager}'::text[]),
    ('team_manager', '{enterprise_admin,enterprise_tm,rep,rep2,team_manager}'),
    ('enterprise_tm', '{enterprise_admin,enterprise_tm,rep,rep2,team_manager}'),
    ('enterprise_admin', '{enterprise_admin,enterprise_tm,rep,rep2,team_manager}'),
    ('platform_admin', '{enterprise_admin,enterprise_tm,other,platform_admin,rep,rep2,suspended,team_manager}'),
    ('other', '{other}'), ('suspended', '{suspended}'),
    ('read_only', '{enterprise_admin,enterprise_tm,rep,rep2,team_manager}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$insert into profiles (id, full_name) values (gen_random_uuid(), 'Ghost')$$),
  expected, format('profiles: %s inserting a profile gets %s', persona, expected))
  from (values
    ('rep', '42501 permission denied for table profiles'),
    ('team_manager', '42501 permission denied for table profiles'),
    ('enterprise_tm', '42501 permission denied for table profiles'),
    ('enterprise_admin', '42501 permission denied for table profiles'),
    ('platform_admin', '42501 permission denied for table profiles'),
    ('other', '42501 permission denied for table profiles'),
    ('suspended', '42501 permission denied for table profiles'),
    ('read_only', '42501 permission denied for table profiles'),
    ('anon', '42501 permission denied for table profiles')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$update profiles set full_name = 'Renamed', time_zone = 'America/Denver' where id = tests.id('rep')$$),
  expected, format('profiles: %s renaming the rep gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'),
    ('anon', '42501 permission denied for table profiles')
  ) v(persona, expected);

select is(tests.try_as(persona, $$delete from profiles where id = tests.id('rep')$$),
  expected, format('profiles: %s deleting the rep''s profile gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select is(tests.try_as('rep', $$update profiles set email = 'evil@example.test' where id = tests.id('rep')$$),
  '42501 permission denied for table profiles', 'profiles: a user cannot change their e-mail here');
select is(tests.try_as('suspended', $$update profiles set full_name = 'Still me' where id = tests.id('suspended')$$),
  'ok 1', 'profiles: a suspended org''s member still edits their own profile');

select is((select full_name || ' <' || email || '>' from profiles where id = tests.id('rep')),
  'Rep <rep@example.test>', 'a new auth user gets a profile with the sign-up name and e-mail');
update auth.users set email = 'moved@example.test' where id = tests.id('rep');
select is((select email from profiles where id = tests.id('rep')), 'moved@example.test',
  'a changed e-mail in auth.users reaches the profile');
delete from auth.users where id = tests.id('rep2');
select is((select count(*)::int from profiles where id = tests.id('rep2')), 0,
  'deleting an auth user deletes the profile');

select * from finish();
rollback;
