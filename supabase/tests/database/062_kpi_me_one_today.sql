-- kpi_me's one "today" (the member's profile time zone, private.member_today), the stage counts
-- on the days the goal covers, and the audited, range-checked alert thresholds.
begin;
select plan(26);
select tests.create_world();
select tests.create_member_data();

-- ## private.member_today: the profile's zone, UTC when the caller cannot read the profile
update public.profiles set time_zone = 'Pacific/Kiritimati' where id = tests.id('rep');
select is(tests.seen(persona, format($$select format('%%s %%s', z.time_zone, z.today = (now() at time zone z.time_zone)::date)
                                        from private.member_today(%L) z$$, tests.id('rep'))),
  array[expected], format('member_today: %s reads the rep''s zone as %s', persona, expected))
  from (values ('rep', 'Pacific/Kiritimati t'), ('team_manager', 'Pacific/Kiritimati t'),
               ('enterprise_admin', 'Pacific/Kiritimati t'), ('other', 'UTC t')) v(persona, expected);
select is(tests.try_as('anon', format($$select * from private.member_today(%L)$$, tests.id('rep'))),
  '42501 permission denied for schema private', 'member_today: anon may not call it');

-- ## kpi_me judges on that today, whatever the goal's zone
update public.goals set time_zone = 'Pacific/Pago_Pago' where id = tests.id('goal_rep');
select is(tests.seen('rep', $$select format('%s %s %s', k ->> 'time_zone', k ->> 'today', k #>> '{goal,today}')
                                from (select kpi_me('2026-03-01', '2026-03-31') k) x$$),
  (select array[format('Pacific/Kiritimati %s %s', d, d)] from (select (now() at time zone 'Pacific/Kiritimati')::date d) t),
  'kpi_me: today is the profile''s local date, also as the goal''s today, not the goal zone''s');
select is(tests.seen('team_manager', format($$select kpi_me('2026-03-01', '2026-03-31', %L) ->> 'time_zone'$$, tests.id('rep'))),
  array['Pacific/Kiritimati'], 'kpi_me: a manager sees the member''s zone, not their own');
select is(tests.seen('rep', $$select (kpi_me_period('week') ->> 'from')::date = date_trunc('week', (kpi_me_period('week') ->> 'today')::date)::date$$),
  array['true'], 'kpi_me_period: the period is placed around the same today kpi_me answers');
select is(tests.seen('rep', $$select kpi_me('2026-03-01', '2026-03-31') #> '{goal,actuals}'$$),
  array['[]'], 'kpi_me: the goal comes without goal_tracking''s per-day actuals');

-- ## Planned as what they are: one row of member_today, and never JIT-compiled (it cost ~440 ms)
select is((select prorows from pg_proc where oid = 'private.member_today(uuid)'::regprocedure), 1::real,
  'member_today: planned as one row');
select is((select array_agg(p.proname::text || ':' || c order by p.proname)
             from pg_proc p, unnest(p.proconfig) c
            where p.oid in ('public.kpi_me(date, date, uuid)'::regprocedure,
                            'public.kpi_me_period(text, uuid, date, date)'::regprocedure)
              and c like 'jit=%'),
  array['kpi_me:jit=off', 'kpi_me_period:jit=off'], 'kpi_me and kpi_me_period run without JIT');

-- ## Stage counts on the goal's days: the 2026 goal does not cover December 2025
insert into public.activities (user_id, type, occurred_on, quantity)
values (tests.id('rep'), 'call', date '2025-12-15', 5);
select is(tests.seen('rep', $$select format('%s/%s', s ->> 'actual', s ->> 'actual_in_goal')
                                from jsonb_array_elements(kpi_me('2025-12-01', '2026-03-31') -> 'stages') s
                               where s ->> 'key' = 'call'$$),
  array['25/20'], 'kpi_me: a stage counts the whole period, and apart the days its goal covers');
select is(tests.seen('rep', $$select kpi_me('2025-12-01', '2026-03-31') #>> '{goal,goal,id}'$$),
  array[tests.id('goal_rep')::text], 'kpi_me: a goal overlapping the period still plans it');
select is(tests.seen('rep', $$select kpi_me('2025-12-01', '2025-12-31') -> 'goal'$$),
  array['null'], 'kpi_me: no goal overlapping the period: no goal');
select is(tests.seen('rep', $$select kpi_me('2025-12-01', '2025-12-31') -> 'actuals'$$),
  array['[{"type": "call", "quantity": 5, "stage_key": null, "value_cents": 0}]'],
  'kpi_me: without a goal the actuals are still answered');

-- ## Alert thresholds: enterprise admins change them, in range, audited
select is(tests.try_as(persona, $$update organizations set behind_pace_threshold = 0.2, bottleneck_threshold = 0.4$$),
  expected, format('thresholds: %s changing the pace and bottleneck thresholds changes %s', persona, expected))
  from (values ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_tm', 'ok 0'), ('enterprise_admin', 'ok 1'),
               ('read_only', 'ok 0'), ('other', 'ok 0'), ('anon', '42501 permission denied for table organizations')
  ) v(persona, expected);
select is(tests.try_as('enterprise_admin', statement), expected, format('thresholds: %s is refused', statement))
  from (values
    ($$update organizations set behind_pace_threshold = 1$$,
     '23514 new row for relation "organizations" violates check constraint "organizations_behind_pace_threshold_check"'),
    ($$update organizations set inactivity_alert_days = 61$$,
     '23514 new row for relation "organizations" violates check constraint "organizations_inactivity_alert_days_check"')
  ) v(statement, expected);

select tests.authenticate_as('enterprise_admin');
update public.organizations set behind_pace_threshold = 0.25, inactivity_alert_days = 5;
select tests.clear_authentication();
select results_eq(
  $$select actor_id, before, after from audit_log where action = 'org.change_alert_thresholds'$$,
  $$values (tests.id('enterprise_admin'),
            '{"behind_pace_threshold": 0.100, "bottleneck_threshold": 0.500, "bottleneck_min_count": 10, "inactivity_alert_days": 3}'::jsonb,
            '{"behind_pace_threshold": 0.250, "bottleneck_threshold": 0.500, "bottleneck_min_count": 10, "inactivity_alert_days": 5}'::jsonb)$$,
  'thresholds: a change is audited with who made it and the thresholds before and after');
update public.organizations set name = 'Renamed' where id = tests.id('org_a');
select is((select count(*)::int from audit_log where action = 'org.change_alert_thresholds'), 1,
  'thresholds: a rename writes no threshold audit row');

select * from finish();
rollback;
