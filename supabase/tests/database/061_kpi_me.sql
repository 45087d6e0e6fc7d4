-- KPI read model: the organization's alert thresholds (every persona's access) and kpi_me (a
-- member sees themselves, a manager those they manage, anyone else nothing; each alert rule).
begin;
select plan(46);
select tests.create_world();
select tests.create_member_data();

-- ## The organization's alert thresholds
select is(tests.seen(persona, $$select format('%s %s %s %s %s', tests.name(id), behind_pace_threshold,
                                              bottleneck_threshold, bottleneck_min_count, inactivity_alert_days)
                                  from organizations$$),
  expected, format('thresholds: %s reads %s', persona, expected))
  from (values
    ('rep', '{"org_a 0.100 0.500 10 3"}'::text[]), ('team_manager', '{"org_a 0.100 0.500 10 3"}'),
    ('enterprise_admin', '{"org_a 0.100 0.500 10 3"}'), ('read_only', '{"org_a 0.100 0.500 10 3"}'),
    ('other', '{"org_b 0.100 0.500 10 3"}')
  ) v(persona, expected);
select is(tests.try_as(persona, $$update organizations set bottleneck_min_count = 5, inactivity_alert_days = 5$$),
  expected, format('thresholds: %s tuning them changes %s', persona, expected))
  from (values
    ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'), ('enterprise_admin', 'ok 1'),
    ('read_only', 'ok 0'), ('other', 'ok 0'), ('suspended', 'ok 0'),
    ('anon', '42501 permission denied for table organizations')
  ) v(persona, expected);
select is(tests.try_as('enterprise_admin', $$update organizations set bottleneck_min_count = 0$$),
  '23514 new row for relation "organizations" violates check constraint "organizations_bottleneck_min_count_check"',
  'thresholds: a minimum count below one is refused');

-- ## kpi_me: who sees whom
select is(tests.seen(persona, format($$select (public.kpi_me('2026-03-01', '2026-03-31', %L) is not null)::text$$, tests.id(member))),
  array[expected], format('kpi_me: %s asking for %s gets %s', persona, member,
                          case expected when 'true' then 'their KPIs' else 'nothing' end))
  from (values
    ('rep', 'rep', 'true'), ('rep', 'rep2', 'false'), ('team_manager', 'rep', 'true'),
    ('team_manager', 'rep2', 'false'), ('enterprise_admin', 'rep2', 'true'), ('other', 'rep', 'false'),
    ('platform_admin', 'rep', 'false'), ('suspended', 'suspended', 'false')
  ) v(persona, member, expected);
select is(tests.try_as('anon', $$select public.kpi_me('2026-03-01', '2026-03-31')$$),
  '42501 permission denied for function kpi_me', 'kpi_me: anon may not call it');

-- ## kpi_me: actuals and the bottleneck rule (20 calls, no appointment: calls convert at 0 vs 0.1)
select tests.authenticate_as('rep');
select is(public.kpi_me('2026-03-01', '2026-03-31') -> 'stages',
  '[{"key": "call", "name": "Call", "actual": 20, "actual_in_goal": 20, "sim_rate": 0.10000, "achieved_rate": 0.00000, "activity_type": "call"},
    {"key": "appointment", "name": "Appointment", "actual": 0, "actual_in_goal": 0, "sim_rate": 0.25000, "achieved_rate": null, "activity_type": "appointment"},
    {"key": "deal", "name": "Deal", "actual": 0, "actual_in_goal": 0, "sim_rate": null, "achieved_rate": null, "activity_type": "deal"}]'::jsonb,
  'kpi_me: actuals per stage and the conversion each achieved vs the SIM''s');
select is(public.kpi_me('2026-03-01', '2026-03-31') #> '{goal,goal,id}', to_jsonb(tests.id('goal_rep')),
  'kpi_me: the goal covering the period, as goal_tracking answers it');
select is(jsonb_path_query_array(public.kpi_me('2026-03-01', '2026-03-31'), '$.alerts[*] ? (@.kind == "bottleneck")'),
  '[{"kind": "bottleneck", "stage_key": "call", "sim_rate": 0.10000, "achieved_rate": 0.00000}]'::jsonb,
  'kpi_me: a stage converting far below the SIM''s rate is the bottleneck');
select is(jsonb_path_query_array(public.kpi_me('2026-04-01', '2026-04-30'), '$.alerts[*] ? (@.kind == "bottleneck")'),
  '[]'::jsonb, 'kpi_me: another period''s activities do not count');
select tests.clear_authentication();

-- One appointment from 20 calls: 0.05, exactly half the SIM's rate, is not below the default 0.5.
insert into public.activities (user_id, type, occurred_on, quantity)
values (tests.id('rep'), 'appointment', date '2026-03-03', 1);
select is(tests.seen('rep', $$select jsonb_path_query_array(public.kpi_me('2026-03-01', '2026-03-31'), '$.alerts[*] ? (@.kind == "bottleneck")')::text$$),
  array['[]'], 'kpi_me: a conversion at the threshold is no bottleneck');
update public.organizations set bottleneck_threshold = 0.6 where id = tests.id('org_a');
select is(tests.seen('rep', $$select (public.kpi_me('2026-03-01', '2026-03-31') #>> '{alerts,0,stage_key}')$$),
  array['call'], 'kpi_me: the organization''s threshold decides (0.6: 0.05 is a bottleneck)');
update public.organizations set bottleneck_min_count = 21 where id = tests.id('org_a');
select is(tests.seen('rep', $$select jsonb_path_query_array(public.kpi_me('2026-03-01', '2026-03-31'), '$.alerts[*] ? (@.kind == "bottleneck")')::text$$),
  array['[]'], 'kpi_me: a stage with fewer activities than the minimum raises no bottleneck');

-- ## kpi_me: no activity for N working days (a goal worked every day this month, in UTC)
insert into public.goals (user_id, sim_id, income_target_cents, period_kind, period_start, working_weekdays)
values (tests.id('rep'), tests.id('sim_global'), 500000, 'month',
        date_trunc('month', now() at time zone 'UTC')::date, '{1,2,3,4,5,6,7}');
create temporary table this_month as
  select date_trunc('month', now() at time zone 'UTC')::date as from_day,
         (now() at time zone 'UTC')::date as today;
grant select on this_month to authenticated;
insert into public.activities (user_id, type, occurred_on) select tests.id('rep'), 'call', today - 4 from this_month;
select is(tests.seen('rep', $$select jsonb_path_query_array(public.kpi_me(from_day, today), '$.alerts[*] ? (@.kind == "inactive")')::text from this_month$$),
  (select array[jsonb_build_array(jsonb_build_object('kind', 'inactive', 'working_days', 3, 'last_active_on', today - 4))::text] from this_month),
  'kpi_me: three full working days without activity raise the inactivity alert');
insert into public.activities (user_id, type, occurred_on) select tests.id('rep'), 'call', today - 3 from this_month;
select is(tests.seen('rep', $$select (kpi_me(from_day, today) -> 'idle_working_days') || (kpi_me(from_day, today) -> 'alerts') from this_month$$),
  array['[2]'], 'kpi_me: two idle working days are below the threshold');
update public.goals set days_off = (select array[today - 1] from this_month)
 where user_id = tests.id('rep') and period_kind = 'month';
update public.organizations set inactivity_alert_days = 2 where id = tests.id('org_a');
select is(tests.seen('rep', $$select (kpi_me(from_day, today) -> 'idle_working_days') || (kpi_me(from_day, today) -> 'alerts') from this_month$$),
  array['[1]'], 'kpi_me: a day off is no idle working day');
insert into public.activities (user_id, type, occurred_on) select tests.id('rep'), 'call', today from this_month;
select is(tests.seen('rep', $$select (kpi_me(from_day, today) -> 'last_active_on')::text from this_month$$),
  (select array[to_jsonb(today - 3)::text] from this_month), 'kpi_me: today, not over yet, is not counted as last active');

-- ## kpi_me_period: named periods around the member's local today (profile time zone)
update public.profiles set time_zone = 'Pacific/Kiritimati' where id = tests.id('rep');
select is(tests.seen('rep', format($$select (kpi_me_period(%L) ->> 'from') || ' ' || (kpi_me_period(%L) ->> 'to')$$, period, period)),
  array[expected], format('kpi_me_period: %s is %s in the member''s time zone', period, expected))
  from (select period, to_char(date_trunc(period, local.day), 'YYYY-MM-DD') || ' ' ||
                       to_char((date_trunc(period, local.day) + length)::date - 1, 'YYYY-MM-DD') as expected
          from (values ('day', interval '1 day'), ('week', interval '7 days'), ('month', interval '1 month'),
                       ('quarter', interval '3 months'), ('year', interval '1 year')) p(period, length),
               (select (now() at time zone 'Pacific/Kiritimati')::date as day) local) v;
select is(tests.seen('rep', $$select kpi_me_period('custom', p_from => '2026-03-01', p_to => '2026-03-31') -> 'stages' -> 0 ->> 'actual'$$),
  array['20'], 'kpi_me_period: a custom range is answered as kpi_me answers it');
select is(tests.try_as('rep', statement), expected, format('kpi_me_period: %s is refused', statement))
  from (values
    ($$select kpi_me_period('fortnight')$$, '22023 the period is day, week, month, quarter, year or custom'),
    ($$select kpi_me_period('custom', p_from => '2026-03-31', p_to => '2026-03-01')$$, '22023 a custom period needs from <= to, at most 366 days apart'),
    ($$select kpi_me_period('custom', p_from => '2025-01-01', p_to => '2026-03-01')$$, '22023 a custom period needs from <= to, at most 366 days apart'),
    ($$select kpi_me_period('month', p_from => '2026-03-01')$$, '22023 from and to are for a custom period only')
  ) v(statement, expected);
select is(tests.seen('other', format($$select kpi_me_period('month', %L)::text$$, tests.id('rep'))),
  '{NULL}', 'kpi_me_period: another organization''s member is nothing');
select is(tests.try_as('anon', $$select kpi_me_period('month')$$),
  '42501 permission denied for function kpi_me_period', 'kpi_me_period: anon may not call it');

select * from finish();
rollback;
