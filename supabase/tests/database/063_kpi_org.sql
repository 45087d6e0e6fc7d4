-- kpi_org: the engine's targets in SQL (calendar and funnel here, daily shares through kpi_org),
-- who sees whom (every persona), aggregates checked by hand (median of odd and even counts, share on pace), sorting
-- and paging edges, the team filter and the trend's moving average.
begin;
select plan(62);
select tests.create_world();
select tests.create_member_data();
select tests.create_flags();

-- ## The engine's rules in SQL (README's January 2026: weekdays without New Year's Day)
select is(private.working_days('2026-01-01', '2026-01-31', '{1,2,3,4,5}', '{2026-01-01}'), 21,
  'working_days: January 2026 on weekdays without New Year''s Day has 21');
select is(private.working_days('2026-01-01', '2026-12-31', '{1,2,3,4,5}', '{}'), 261,
  'working_days: 2026 has 261 weekdays');
select is(private.working_days('2026-01-05', '2026-01-11', '{7,7,6}', '{2026-01-10,2026-01-10,2026-01-12}'), 1,
  'working_days: repeated weekdays and days off count once; days off outside the range are ignored');
select is(private.working_days('2026-01-02', '2026-01-01', '{1,2,3,4,5}', '{}'), 0,
  'working_days: an empty range has none');
select is(private.reverse_funnel(3, '{0.05,0.25,null}'), '{240,12,3}'::bigint[],
  'reverse_funnel: 3 deals need 12 appointments and 240 calls');
select is(private.reverse_funnel(2, '{0.1,0.35,0.8,null}'), '{90,9,3,2}'::bigint[],
  'reverse_funnel: each stage is rounded up (README''s real-estate SIM)');

-- ## Who sees whom
select is(tests.seen(persona, $$select jsonb_path_query(kpi_org('custom', '2026-03-01', '2026-03-31'), '$.users[*].name') #>> '{}'$$),
  expected, format('kpi_org: %s sees %s', persona, expected))
  from (values
    ('team_manager', '{Rep,"Team Manager"}'::text[]),
    ('enterprise_tm', '{"Enterprise Admin","Enterprise Tm",Rep,Rep2,"Team Manager"}'),
    ('enterprise_admin', '{"Enterprise Admin","Enterprise Tm",Rep,Rep2,"Team Manager"}')
  ) v(persona, expected);
select is(tests.try_as(persona, $$select kpi_org()$$), expected, format('kpi_org: %s is refused', persona))
  from (values
    ('rep', '42501 only managers see the organization''s KPIs'),
    ('read_only', '42501 only managers see the organization''s KPIs'),
    ('other', '42501 only managers see the organization''s KPIs'),
    ('suspended', '42501 the org_dashboard feature is not enabled for your plan or account'),
    ('platform_admin', '42501 the org_dashboard feature is not enabled for your plan or account'),
    ('anon', '42501 permission denied for function kpi_org')
  ) v(persona, expected);
delete from public.feature_flags where id = tests.id('flag_org_a');
select is(tests.try_as('enterprise_admin', $$select kpi_org()$$),
  '42501 the org_dashboard feature is not enabled for your plan or account',
  'kpi_org: without org_dashboard even an enterprise admin is refused');
insert into public.feature_flags (key, scope, org_id, value) values ('org_dashboard', 'org', tests.id('org_a'), 'true');
-- Another organization's manager sees their own members only.
do $$ begin perform tests.add_member('other_manager', 'org_b', 'enterprise_admin'); end $$;
select is(tests.seen('other_manager', $$select jsonb_path_query(kpi_org(), '$.users[*].name') #>> '{}'$$),
  '{Other,"Other Manager"}', 'kpi_org: another organization''s admin sees only their organization');

-- ## Data for the figures (March 2026, in the past: expected by today is the whole target)
-- Calls: rep 20 (fixture, 2 March), rep2 20 + 10 (10 March), team manager 40 (16 March) with
-- 4 appointments and a deal on a month goal of one deal: 40 calls, 4 appointments, 1 deal.
insert into public.activities (user_id, type, occurred_on, quantity)
values (tests.id('rep2'), 'call', '2026-03-10', 10), (tests.id('team_manager'), 'call', '2026-03-16', 40),
       (tests.id('team_manager'), 'appointment', '2026-03-16', 4);
insert into public.activities (user_id, type, occurred_on, quantity, value_cents)
values (tests.id('team_manager'), 'deal', '2026-03-17', 1, 1000000);
insert into public.goals (user_id, sim_id, income_target_cents, period_kind, period_start)
values (tests.id('team_manager'), tests.id('sim_global'), 30000, 'month', '2026-03-01');
create temporary table march (v jsonb);
grant select, insert on march to authenticated;
select tests.authenticate_as('enterprise_admin');
insert into march select kpi_org('custom', '2026-03-01', '2026-03-31', p_granularity => 'week');
select tests.clear_authentication();

-- ## Targets and pacing per member
select is((select v #> '{users,2,stages}' from march),
  '[{"key": "call", "pace": 0.0177, "actual": 20, "target": 1129, "on_pace": false, "expected": 1129, "activity_type": "call"},
    {"key": "appointment", "pace": 0.0000, "actual": 0, "target": 110, "on_pace": false, "expected": 110, "activity_type": "appointment"},
    {"key": "deal", "pace": 0.0000, "actual": 0, "target": 44, "on_pace": false, "expected": 44, "activity_type": "deal"}]'::jsonb,
  'kpi_org: the rep''s year goal gives March 1129 calls (52 a day on the first 49 of 261 weekdays, then 51), 110 appointments, 44 deals');
select is((select v #> '{users,4}' from march) - 'user_id' - 'team',
  '{"name": "Team Manager", "role": "team_manager", "goal_kind": "month", "pace": 1.0000, "on_pace": true,
    "actuals": {"call": 40, "deal": 1, "custom": 0, "referral": 0, "activities": 45, "appointment": 4, "deal_value_cents": 1000000},
    "stages": [{"key": "call", "pace": 1.0000, "actual": 40, "target": 40, "on_pace": true, "expected": 40, "activity_type": "call"},
               {"key": "appointment", "pace": 1.0000, "actual": 4, "target": 4, "on_pace": true, "expected": 4, "activity_type": "appointment"},
               {"key": "deal", "pace": 1.0000, "actual": 1, "target": 1, "on_pace": true, "expected": 1, "activity_type": "deal"}]}'::jsonb,
  'kpi_org: a member who did their month''s plan is on pace');
select is((select v #> '{users,0}' from march) - 'user_id',
  '{"name": "Enterprise Admin", "role": "enterprise_admin", "team": null, "goal_kind": null, "pace": null, "on_pace": null, "stages": [],
    "actuals": {"call": 0, "deal": 0, "custom": 0, "referral": 0, "activities": 0, "appointment": 0, "deal_value_cents": 0}}'::jsonb,
  'kpi_org: a member without a goal has no target and no pace');
-- 90 % of the expected count is still on pace (threshold 0.1), less is not.
update public.activities set quantity = 36 where user_id = tests.id('team_manager') and type = 'call';
select is(tests.seen('enterprise_admin', $$select kpi_org('custom', '2026-03-01', '2026-03-31') #>> '{users,4,on_pace}'$$),
  '{true}', 'kpi_org: 36 calls of 40 expected is on pace at the default threshold');
update public.organizations set behind_pace_threshold = 0.05 where id = tests.id('org_a');
select is(tests.seen('enterprise_admin', $$select kpi_org('custom', '2026-03-01', '2026-03-31') #>> '{users,4,on_pace}'$$),
  '{false}', 'kpi_org: the organization''s threshold decides (0.05: 36 of 40 is behind)');

-- ## Aggregates: calls [0, 0, 20, 30, 40] in the scope, A1 [20, 40], A2 [30], no team [0, 0]
select is((select v #> '{aggregates,scope}' from march) - 'metrics',
  '{"users": 5, "users_with_target": 3, "users_on_pace": 1, "on_pace_share": 0.3333}'::jsonb,
  'kpi_org: one of the three members with a target is on pace');
select is((select v #> '{aggregates,scope,metrics,call}' from march),
  '{"sum": 90, "average": 18.00, "median": 20, "target": 2298}'::jsonb,
  'kpi_org: the scope''s calls: sum, average, median of an odd count, target');
select is((select jsonb_agg(jsonb_build_object('team', t -> 'team' ->> 'name', 'call', t #> '{metrics,call}',
                                               'on_pace_share', t -> 'on_pace_share'))
             from march, jsonb_array_elements(v #> '{aggregates,teams}') t),
  '[{"team": "A1", "call": {"sum": 60, "average": 30.00, "median": 30, "target": 1169}, "on_pace_share": 0.5000},
    {"team": "A2", "call": {"sum": 30, "average": 30.00, "median": 30, "target": 1129}, "on_pace_share": 0.0000},
    {"team": null, "call": {"sum": 0, "average": 0.00, "median": 0, "target": null}, "on_pace_share": null}]'::jsonb,
  'kpi_org: per team (the median of an even count is the mean of the middle two), members without a team last');
select is((select v #> '{aggregates,scope,metrics,deal_value_cents}' from march),
  '{"sum": 1000000, "average": 200000.00, "median": 0, "target": null}'::jsonb,
  'kpi_org: deal value aggregates too');

-- ## Trend: weekly calls [0, 40, 10, 40, 0, 0] with a 4-week moving average
select is((select jsonb_agg(jsonb_build_array(p -> 'start', p #> '{counts,call}', p #> '{moving_average,call}'))
             from march, jsonb_array_elements(v #> '{trend,points}') p),
  '[["2026-03-01", 0, 0.00], ["2026-03-02", 40, 20.00], ["2026-03-09", 10, 16.67],
    ["2026-03-16", 40, 22.50], ["2026-03-23", 0, 22.50], ["2026-03-30", 0, 12.50]]'::jsonb,
  'kpi_org: weeks start on Monday, clipped to the period; the moving average covers up to 4 weeks');
select is((select (v -> 'trend') - 'points' from march), '{"granularity": "week", "moving_average_window": 4}'::jsonb,
  'kpi_org: the trend states its granularity and window');
select is(tests.seen('enterprise_admin', $$select jsonb_array_length(kpi_org('custom', '2026-03-01', '2026-03-31') #> '{trend,points}') || ' ' || (kpi_org('custom', '2026-01-01', '2026-12-31') #>> '{trend,granularity}')$$),
  '{"31 month"}', 'kpi_org: a month is traced per day, a year per month by default');

-- ## Sorting and paging
select is(tests.seen('enterprise_admin', format($$select string_agg(u ->> 'name', ', ' order by n)
                                  from jsonb_array_elements(kpi_org('custom', '2026-03-01', '2026-03-31', p_sort => %L, p_direction => %L, p_limit => %s, p_offset => %s) -> 'users') with ordinality x(u, n)$$,
                                  sort, direction, lim, off)),
  array[expected], format('kpi_org: sorted by %s %s, %s from %s: %s', sort, direction, lim, off, expected))
  from (values
    ('name', 'asc', 50, 0, 'Enterprise Admin, Enterprise Tm, Rep, Rep2, Team Manager'),
    ('name', 'desc', 2, 0, 'Team Manager, Rep2'),
    ('name', 'asc', 2, 2, 'Rep, Rep2'),
    ('name', 'asc', 2, 4, 'Team Manager'),
    ('calls', 'desc', 50, 0, 'Team Manager, Rep2, Rep, Enterprise Admin, Enterprise Tm'),
    ('pace', 'asc', 50, 0, 'Rep, Rep2, Team Manager, Enterprise Admin, Enterprise Tm'),
    ('pace', 'desc', 50, 0, 'Team Manager, Rep, Rep2, Enterprise Admin, Enterprise Tm'),
    ('team', 'asc', 3, 0, 'Enterprise Admin, Enterprise Tm, Rep'),
    ('deal_value', 'desc', 1, 0, 'Team Manager')
  ) v(sort, direction, lim, off, expected);
select is(tests.seen('enterprise_admin', $$select (kpi_org('custom', '2026-03-01', '2026-03-31', p_offset => 5) -> 'users')::text || ' ' || (kpi_org('custom', '2026-03-01', '2026-03-31', p_offset => 5) ->> 'total')$$),
  '{"[] 5"}', 'kpi_org: a page past the end is empty and still counts the total');
select is(tests.try_as('enterprise_admin', statement), expected, format('kpi_org: %s is refused', statement))
  from (values
    ($$select kpi_org(p_sort => 'email')$$, '22023 sort by name, team, pace, activities, calls, appointments, deals or deal_value'),
    ($$select kpi_org(p_direction => 'up')$$, '22023 the direction is asc or desc'),
    ($$select kpi_org(p_limit => 0)$$, '22023 limit is 1 to 200 and offset 0 or more'),
    ($$select kpi_org(p_limit => 201)$$, '22023 limit is 1 to 200 and offset 0 or more'),
    ($$select kpi_org(p_offset => -1)$$, '22023 limit is 1 to 200 and offset 0 or more'),
    ($$select kpi_org('fortnight')$$, '22023 the period is day, week, month, quarter, year or custom'),
    ($$select kpi_org('custom', '2026-03-31', '2026-03-01')$$, '22023 a custom period needs from <= to, at most 366 days apart'),
    ($$select kpi_org('month', '2026-03-01')$$, '22023 from and to are for a custom period only'),
    ($$select kpi_org(p_granularity => 'hour')$$, '22023 the granularity is day, week or month')
  ) v(statement, expected);

-- ## The team filter
select is(tests.seen(persona, format($$select (kpi_org('custom', '2026-03-01', '2026-03-31', p_team_id => %L) #>> '{team,name}') || ' ' || (kpi_org('custom', '2026-03-01', '2026-03-31', p_team_id => %L) ->> 'total')$$,
                                     tests.id(team), tests.id(team))),
  array[expected], format('kpi_org: %s filtering on %s gets %s', persona, team, coalesce(expected, 'nothing')))
  from (values
    ('team_manager', 'team_a1', 'A1 2'), ('team_manager', 'team_a2', null),
    ('enterprise_tm', 'team_a2', 'A2 1'), ('enterprise_admin', 'team_a1', 'A1 2'),
    ('other_manager', 'team_a1', null)
  ) v(persona, team, expected);

-- ## Named periods in the organization's time zone
update public.organizations set time_zone = 'Pacific/Kiritimati' where id = tests.id('org_a');
select is(tests.seen('enterprise_admin', $$select (kpi_org('quarter') #>> '{period,from}') || ' ' || (kpi_org('quarter') #>> '{period,to}')$$),
  (select array[to_char(date_trunc('quarter', d), 'YYYY-MM-DD') || ' ' || to_char(date_trunc('quarter', d) + interval '3 months' - interval '1 day', 'YYYY-MM-DD')]
     from (select (now() at time zone 'Pacific/Kiritimati')::date::timestamp as d) local),
  'kpi_org: the quarter is the organization''s current one in its time zone');

-- ## The drilldown: kpi_me of one managed member
select is(tests.seen(persona, format($$select coalesce((kpi_org_member(%L, 'custom', '2026-03-01', '2026-03-31') #>> '{stages,0,actual}'), 'null')$$, tests.id(member))),
  array[expected], format('kpi_org_member: %s drilling into %s gets %s', persona, member, expected))
  from (values
    ('team_manager', 'rep', '20'), ('team_manager', 'rep2', 'null'), ('enterprise_tm', 'rep2', '30'),
    ('enterprise_admin', 'rep', '20'), ('other_manager', 'rep', 'null')
  ) v(persona, member, expected);
select is(tests.try_as(persona, format($$select kpi_org_member(%L)$$, tests.id('rep'))), expected,
  format('kpi_org_member: %s is refused', persona))
  from (values
    ('rep', '42501 only managers see the organization''s KPIs'),
    ('platform_admin', '42501 the org_dashboard feature is not enabled for your plan or account'),
    ('anon', '42501 permission denied for function kpi_org_member')
  ) v(persona, expected);

select * from finish();
rollback;
