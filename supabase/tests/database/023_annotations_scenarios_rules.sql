-- annotations, scenarios and referral_rules × select/insert/update/delete × every persona.
begin;
select plan(114);
select tests.create_world();
select tests.create_member_data();

-- annotations
select is(tests.seen(persona, $$select tests.name(id) from annotations$$), expected,
          format('annotations: %s reads %s', persona, expected))
  from (values
    ('rep', '{note_rep,note_tm}'::text[]), ('team_manager', '{note_rep,note_tm}'),
    ('enterprise_tm', '{note_rep,note_tm}'), ('enterprise_admin', '{note_rep,note_tm}'),
    ('platform_admin', '{}'), ('other', '{}'), ('suspended', '{}'),
    ('read_only', '{note_rep,note_tm}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.try_as(persona, $$insert into annotations (user_id, on_date, body) values (tests.id('rep'), date '2026-03-03', 'Note')$$),
  expected, format('annotations: %s annotating the rep''s day gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 1'), ('enterprise_tm', 'ok 1'),
    ('enterprise_admin', 'ok 1'),
    ('platform_admin', '42501 new row violates row-level security policy for table "annotations"'),
    ('rep2', '42501 new row violates row-level security policy for table "annotations"'),
    ('other', '42501 new row violates row-level security policy for table "annotations"'),
    ('suspended', '42501 new row violates row-level security policy for table "annotations"'),
    ('read_only', '42501 new row violates row-level security policy "read-only sessions insert nothing" for table "annotations"'),
    ('anon', '42501 new row violates row-level security policy for table "annotations"')
  ) v(persona, expected);
select is(tests.try_as(persona, $$update annotations set body = 'Edited' where id = tests.id('note_tm')$$),
  expected, format('annotations: %s editing the team manager''s note gets %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 1'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);
select is(tests.try_as(persona, $$delete from annotations where id = tests.id('note_rep')$$),
  expected, format('annotations: %s deleting the rep''s own note gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);
select is(tests.try_as('team_manager', $$insert into annotations (user_id, activity_id, on_date, body) values (tests.id('rep'), tests.id('act_other'), current_date, 'x')$$),
  format('23503 activity %s is not one of user %s''s', tests.id('act_other'), tests.id('rep')),
  'annotations: a note cannot point at someone else''s activity');

-- scenarios: private to their owner
select is(tests.seen(persona, $$select tests.name(id) from scenarios$$), expected,
          format('scenarios: %s reads %s', persona, expected))
  from (values
    ('rep', '{scenario_rep}'::text[]), ('team_manager', '{}'), ('enterprise_tm', '{}'),
    ('enterprise_admin', '{}'), ('platform_admin', '{}'), ('other', '{scenario_other}'),
    ('suspended', '{}'), ('read_only', '{scenario_rep}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.try_as(persona, $$insert into scenarios (name, inputs) values ('What if', '{}')$$),
  expected, format('scenarios: %s saving one of their own gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 1'), ('enterprise_tm', 'ok 1'),
    ('enterprise_admin', 'ok 1'),
    ('platform_admin', format('23503 user %s is not a member of an organization', tests.id('platform_admin'))),
    ('other', 'ok 1'),
    ('suspended', '42501 new row violates row-level security policy for table "scenarios"'),
    ('read_only', '42501 new row violates row-level security policy "read-only sessions insert nothing" for table "scenarios"'),
    ('anon', '42501 new row violates row-level security policy for table "scenarios"')
  ) v(persona, expected);
select is(tests.try_as(persona, $$update scenarios set name = 'Renamed' where id = tests.id('scenario_rep')$$),
  expected, format('scenarios: %s renaming the rep''s scenario gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);
select is(tests.try_as(persona, $$delete from scenarios where id = tests.id('scenario_rep')$$),
  expected, format('scenarios: %s deleting the rep''s scenario gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

-- referral rules: managers read, owners write
select is(tests.seen(persona, $$select tests.name(id) from referral_rules$$), expected,
          format('referral_rules: %s reads %s', persona, expected))
  from (values
    ('rep', '{rule_rep}'::text[]), ('team_manager', '{rule_rep}'),
    ('enterprise_tm', '{rule_rep,rule_rep2}'), ('enterprise_admin', '{rule_rep,rule_rep2}'),
    ('platform_admin', '{}'), ('other', '{rule_other}'), ('suspended', '{}'),
    ('read_only', '{rule_rep}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.try_as(persona, $$insert into referral_rules (name, referred_value_multiplier) values ('Bigger', 1.25)$$),
  expected, format('referral_rules: %s adding one of their own gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 1'), ('enterprise_tm', 'ok 1'),
    ('enterprise_admin', 'ok 1'),
    ('platform_admin', format('23503 user %s is not a member of an organization', tests.id('platform_admin'))),
    ('other', 'ok 1'),
    ('suspended', '42501 new row violates row-level security policy for table "referral_rules"'),
    ('read_only', '42501 new row violates row-level security policy "read-only sessions insert nothing" for table "referral_rules"'),
    ('anon', '42501 new row violates row-level security policy for table "referral_rules"')
  ) v(persona, expected);
select is(tests.try_as(persona, $$update referral_rules set active = false where id = tests.id('rule_rep')$$),
  expected, format('referral_rules: %s switching off the rep''s rule gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);
select is(tests.try_as(persona, $$delete from referral_rules where id = tests.id('rule_rep')$$),
  expected, format('referral_rules: %s deleting the rep''s rule gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);
select throws_ok($$insert into referral_rules (user_id, name) values (tests.id('rep'), 'Nothing')$$,
  '23514', null, 'a referral rule must change something');

-- paid features are refused by the database when off for the caller
update plans set features = '{}' where key = 'tests_plan';
select is(tests.try_as('rep', $$insert into scenarios (name, inputs) values ('What if', '{}')$$),
  '42501 new row violates row-level security policy for table "scenarios"',
  'scenarios: nobody saves a scenario when what-if is off for them');
select is(tests.try_as('rep', $$insert into referral_rules (name, referral_close_rate) values ('R', 0.5)$$),
  '42501 new row violates row-level security policy for table "referral_rules"',
  'referral_rules: nobody adds a rule when referral rules are off for them');
insert into feature_flags (key, scope, user_id, value) values ('what_if', 'user', tests.id('rep'), 'true');
select is(tests.try_as('rep', $$insert into scenarios (name, inputs) values ('What if', '{}')$$), 'ok 1',
  'scenarios: a user flag turns what-if back on for that user');

select * from finish();
rollback;
