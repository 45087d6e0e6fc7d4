-- memberships × select/insert/update/delete × every persona, and the invariants guarding them.
begin;
select plan(51);
select tests.create_world();
select tests.create_user('newcomer');

select is(tests.seen(persona, $$select tests.name(user_id) from memberships$$), expected,
          format('memberships: %s reads %s', persona, expected))
  from (values
    ('rep', '{rep}'::text[]), ('team_manager', '{rep,team_manager}'),
    ('enterprise_tm', '{enterprise_admin,enterprise_tm,rep,rep2,team_manager}'),
    ('enterprise_admin', '{enterprise_admin,enterprise_tm,rep,rep2,team_manager}'),
    ('platform_admin', '{enterprise_admin,enterprise_tm,other,rep,rep2,suspended,team_manager}'),
    ('other', '{other}'), ('suspended', '{}'), ('read_only', '{rep}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$insert into memberships (org_id, user_id, team_id) values (tests.id('org_a'), tests.id('newcomer'), tests.id('team_a1'))$$),
  expected, format('memberships: %s adding a member to org A gets %s', persona, expected))
  from (values
    ('rep', '42501 new row violates row-level security policy for table "memberships"'),
    ('team_manager', '42501 new row violates row-level security policy for table "memberships"'),
    ('enterprise_tm', '42501 new row violates row-level security policy for table "memberships"'),
    ('enterprise_admin', 'ok 1'),
    ('platform_admin', '42501 new row violates row-level security policy for table "memberships"'),
    ('other', '42501 new row violates row-level security policy for table "memberships"'),
    ('suspended', '42501 new row violates row-level security policy for table "memberships"'),
    ('read_only', '42501 new row violates row-level security policy for table "memberships"'),
    ('anon', '42501 new row violates row-level security policy for table "memberships"')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$update memberships set team_id = tests.id('team_a2') where user_id = tests.id('rep')$$),
  expected, format('memberships: %s moving the rep to team A2 gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 1'),
    ('enterprise_admin', 'ok 1'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select is(tests.try_as(persona,
  $$update memberships set role = 'enterprise_admin' where user_id = tests.id('rep')$$),
  expected, format('memberships: %s making the rep an enterprise admin gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'),
    ('enterprise_tm', '42501 new row violates row-level security policy for table "memberships"'),
    ('enterprise_admin', 'ok 1'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select is(tests.try_as(persona, $$delete from memberships where user_id = tests.id('rep2')$$),
  expected, format('memberships: %s removing rep2 gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 1'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

-- invariants, as the owner (a direct SQL edit in the dashboard)
select throws_ok(
  $$insert into memberships (org_id, user_id, team_id) values (tests.id('org_a'), tests.id('newcomer'), tests.id('team_b1'))$$,
  '23503', null, 'a member cannot be put in a team of another organization');
select throws_ok(
  $$insert into memberships (org_id, user_id) values (tests.id('org_b'), tests.id('rep'))$$,
  '23505', null, 'a user belongs to one organization only');
update organizations set max_users = 5 where id = tests.id('org_a');
select throws_ok(
  $$insert into memberships (org_id, user_id) values (tests.id('org_a'), tests.id('newcomer'))$$,
  '23514', format('organization %s has no free seat (limit 5)', tests.id('org_a')),
  'a seat beyond the organization''s limit is refused by the database');
update organizations set max_users = null where id = tests.id('org_a');
update plans set max_users = 5 where key = 'tests_plan';
select throws_ok(
  $$insert into memberships (org_id, user_id) values (tests.id('org_a'), tests.id('newcomer'))$$,
  '23514', format('organization %s has no free seat (limit 5)', tests.id('org_a')),
  'a seat beyond the plan''s limit is refused by the database');
update plans set max_users = 10 where key = 'tests_plan';
select lives_ok(
  $$insert into memberships (org_id, user_id) values (tests.id('org_a'), tests.id('newcomer'))$$,
  'a seat within the plan is accepted');
update memberships set role = 'rep' where user_id = tests.id('team_manager');
select is((select count(*)::int from team_managers where user_id = tests.id('team_manager')), 0,
  'a demoted team manager manages no team any more');

select * from finish();
rollback;
