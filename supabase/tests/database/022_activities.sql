-- activities, activity_history and kpi_daily × select/insert/update/delete × every persona,
-- the edit history and the rollups the trigger keeps.
begin;
select plan(117);
select tests.create_world();
select tests.create_member_data();

select is(tests.seen(persona, $$select tests.name(id) from activities$$), expected,
          format('activities: %s reads %s', persona, expected))
  from (values
    ('rep', '{act_rep}'::text[]), ('team_manager', '{act_rep}'),
    ('enterprise_tm', '{act_rep,act_rep2}'), ('enterprise_admin', '{act_rep,act_rep2}'),
    ('platform_admin', '{}'), ('other', '{act_other}'), ('suspended', '{}'),
    ('read_only', '{act_rep}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona, $$insert into activities (type, occurred_on, quantity) values ('call', date '2026-03-03', 5)$$),
  expected, format('activities: %s logging calls of their own gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 1'), ('enterprise_tm', 'ok 1'),
    ('enterprise_admin', 'ok 1'),
    ('platform_admin', format('23503 user %s is not a member of an organization', tests.id('platform_admin'))),
    ('other', 'ok 1'),
    ('suspended', '42501 new row violates row-level security policy for table "activities"'),
    ('read_only', '42501 new row violates row-level security policy "read-only sessions insert nothing" for table "activities"'),
    ('anon', '42501 new row violates row-level security policy for table "activities"')
  ) v(persona, expected);

select is(tests.try_as(persona, $$insert into activities (user_id, type, occurred_on) values (tests.id('rep'), 'deal', date '2026-03-03')$$),
  '42501 new row violates row-level security policy for table "activities"',
  format('activities: %s cannot log an activity for the rep', persona))
  from unnest(array['team_manager', 'enterprise_tm', 'enterprise_admin', 'other']) persona;

select is(tests.try_as(persona, $$update activities set quantity = 1 where id = tests.id('act_rep')$$),
  expected, format('activities: %s editing the rep''s activity gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

select is(tests.try_as(persona, $$delete from activities where id = tests.id('act_rep')$$),
  expected, format('activities: %s deleting the rep''s activity gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')
  ) v(persona, expected);

-- history: readable like the activities, written by nobody through the API
select is(tests.seen(persona, $$select tests.name(activity_id) from activity_history$$), expected,
          format('activity_history: %s reads the history of %s', persona, expected))
  from (values
    ('rep', '{act_rep}'::text[]), ('team_manager', '{act_rep}'),
    ('enterprise_tm', '{act_rep,act_rep2}'), ('enterprise_admin', '{act_rep,act_rep2}'),
    ('platform_admin', '{}'), ('other', '{act_other}'), ('suspended', '{}'),
    ('read_only', '{act_rep}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.try_as(persona, statement), '42501 permission denied for table activity_history',
          format('activity_history: %s cannot %s', persona, split_part(statement, ' ', 1)))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin', 'other', 'suspended', 'read_only', 'anon']) persona,
       unnest(array[
         $$insert into activity_history (activity_id, user_id, org_id, operation, changed_by_role) values (gen_random_uuid(), auth.uid(), tests.id('org_a'), 'insert', 'x')$$,
         $$update activity_history set after = null$$,
         $$delete from activity_history$$]) statement;

-- kpi_daily: readable like the activities, written only by the trigger
select is(tests.seen(persona, $$select tests.name(user_id) from kpi_daily$$), expected,
          format('kpi_daily: %s reads the KPIs of %s', persona, expected))
  from (values
    ('rep', '{rep}'::text[]), ('team_manager', '{rep}'),
    ('enterprise_tm', '{rep,rep2}'), ('enterprise_admin', '{rep,rep2}'),
    ('platform_admin', '{}'), ('other', '{other}'), ('suspended', '{}'),
    ('read_only', '{rep}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.try_as(persona, statement), '42501 permission denied for table kpi_daily',
          format('kpi_daily: %s cannot %s', persona, split_part(statement, ' ', 1)))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin', 'other', 'suspended', 'read_only', 'anon']) persona,
       unnest(array[
         $$insert into kpi_daily (user_id, org_id, day, activity_type, quantity, activities) values (auth.uid(), tests.id('org_a'), current_date, 'deal', 99, 1)$$,
         $$update kpi_daily set quantity = 999$$,
         $$delete from kpi_daily$$]) statement;

-- the rollups and the history after a retroactive edit by the rep
select tests.authenticate_as('rep');
insert into activities (id, type, occurred_on, quantity, value_cents)
values (tests.named('deal_rep'), 'deal', date '2026-03-02', 1, 2500000);
insert into activities (type, occurred_on, quantity) values ('call', date '2026-03-02', 5);
update activities set occurred_on = date '2026-02-27', quantity = 15 where id = tests.id('act_rep');
select tests.clear_authentication();
select results_eq(
  $$select day::text, activity_type::text, quantity, value_cents, activities from kpi_daily
     where user_id = tests.id('rep') order by day, activity_type$$,
  $$values ('2026-02-27', 'call', 15::bigint, 0::bigint, 1),
           ('2026-03-02', 'call', 5::bigint, 0::bigint, 1),
           ('2026-03-02', 'deal', 1::bigint, 2500000::bigint, 1)$$,
  'kpi_daily sums each day''s activities per type, following a back-dated edit');
select results_eq(
  $$select operation, tests.name(changed_by), changed_by_role, before ->> 'occurred_on', after ->> 'occurred_on'
      from activity_history where activity_id = tests.id('act_rep') order by id$$,
  $$values ('insert', null, 'postgres', null, '2026-03-02'),
           ('update', 'rep', 'authenticated', '2026-03-02', '2026-02-27')$$,
  'the history keeps who changed what, with the row before and after');
delete from activities where user_id = tests.id('rep');
select is((select count(*)::int from kpi_daily where user_id = tests.id('rep')), 0,
  'deleting the activities empties their rollups');
select is((select count(*)::int from activity_history where activity_id = tests.id('act_rep') and operation = 'delete'), 1,
  'a deleted activity keeps its history');
select throws_ok($$insert into activities (user_id, type, occurred_on) values (tests.id('rep'), 'custom', current_date)$$,
  '23514', null, 'a custom activity names its stage');

select * from finish();
rollback;
