-- The tracker's SQL: edit_activity (owner edits and annotates atomically; a reader who may not
-- edit gets 42501), goal_tracking (current goals with per-day actuals per stage, under RLS) and
-- the activity-goal check (an activity counts only towards its owner's goal, inside its period).
begin;
select plan(31);
select tests.create_world();
select tests.create_member_data();

-- ## edit_activity
select is(tests.try_as(persona,
  $$select public.edit_activity(tests.id('act_rep'), '{"quantity": 30, "occurred_on": "2026-03-01"}', 'recount')$$),
  expected, format('edit_activity: %s editing the rep''s activity gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'),
    ('team_manager', format('42501 only its owner may edit activity %s', tests.id('act_rep'))),
    ('enterprise_admin', format('42501 only its owner may edit activity %s', tests.id('act_rep'))),
    ('read_only', format('42501 only its owner may edit activity %s', tests.id('act_rep'))),
    ('other', 'ok 1'),
    ('anon', '42501 permission denied for function edit_activity')
  ) v(persona, expected);

select is(tests.seen('other', $$select public.edit_activity(tests.id('act_rep'), '{"quantity": 30}')::text$$),
  '{NULL}', 'edit_activity: another organization''s activity is not there (null)');

-- The rep's edit and its annotation land together, with history and rollups.
select tests.authenticate_as('rep');
select is(public.edit_activity(tests.id('act_rep'), '{"quantity": 30, "occurred_on": "2026-03-01", "note": "late"}', 'recount')
            #>> '{activity,quantity}', '30', 'edit_activity: the rep''s change is answered');
select tests.clear_authentication();
select is((select array[quantity::text, occurred_on::text, note] from public.activities where id = tests.id('act_rep')),
  array['30', '2026-03-01', 'late'], 'edit_activity: the row changed');
select is((select body from public.annotations where activity_id = tests.id('act_rep')), 'recount',
  'edit_activity: the annotation names the activity');
select is((select array[operation, tests.name(changed_by)] from public.activity_history
            where activity_id = tests.id('act_rep') order by id desc limit 1),
  array['update', 'rep'], 'edit_activity: the history records who changed it');
select is((select array_agg(day::text || ':' || quantity order by day) from public.kpi_daily where user_id = tests.id('rep')),
  array['2026-03-01:30'], 'edit_activity: back-dating moves the rollup');

-- A refused annotation undoes the edit: both or neither.
select tests.authenticate_as('rep');
select throws_ok($$select public.edit_activity(tests.id('act_rep'), '{"quantity": 31}', ' ')$$, '23514', null,
  'edit_activity: a blank annotation is refused');
select tests.clear_authentication();
select is((select quantity from public.activities where id = tests.id('act_rep')), 30,
  'edit_activity: and the edit is not kept');
select is(tests.try_as('rep', $$select public.edit_activity(tests.id('act_rep'), '[1]')$$),
  '22023 the changes must be a JSON object', 'edit_activity: changes are an object');

-- ## goal_tracking
select is(tests.seen(persona, format($$select jsonb_array_length(public.goal_tracking(%L::uuid, %L::uuid))::text$$,
                                     tests.id('rep'), tests.id('goal_rep'))),
  expected, format('goal_tracking: %s asking for the rep''s goal sees %s goal(s)', persona, expected))
  from (values
    ('rep', '{1}'::text[]), ('team_manager', '{1}'), ('enterprise_admin', '{1}'), ('read_only', '{1}'),
    ('other', '{0}'), ('platform_admin', '{0}')
  ) v(persona, expected);
select is(tests.try_as('anon', $$select public.goal_tracking()$$),
  '42501 permission denied for function goal_tracking', 'goal_tracking: anon may not call it');

-- Actuals per day in funnel order (call, appointment, deal); a custom activity counts nowhere here.
insert into public.activities (user_id, type, occurred_on, quantity, value_cents)
values (tests.id('rep'), 'appointment', date '2026-03-01', 2, null),
       (tests.id('rep'), 'deal', date '2026-03-05', 1, 40000000),
       (tests.id('rep'), 'referral', date '2026-03-05', 3, null);
select tests.authenticate_as('rep');
select is(public.goal_tracking(p_goal_id => tests.id('goal_rep')) -> 0 -> 'actuals',
  '[{"day": "2026-03-01", "counts": [30, 2, 0]}, {"day": "2026-03-05", "counts": [0, 0, 1]}]'::jsonb,
  'goal_tracking: per-day actuals per stage');
select is((public.goal_tracking(p_goal_id => tests.id('goal_rep')) -> 0) - '{goal,sim,actuals,logged_today,today}'::text[],
  '{"referrals": 3, "deal_value_cents": 40000000, "referral_rules": []}'::jsonb,
  'goal_tracking: referrals and deal value over the period; a rule without an expected count does not plan');
select tests.clear_authentication();
update public.referral_rules set expected_referrals_per_month = 4 where id = tests.id('rule_rep');
select is(tests.seen(persona, format($$select (public.goal_tracking(p_goal_id => %L) -> 0 -> 'referral_rules')::text$$, tests.id('goal_rep'))),
  expected, format('goal_tracking: %s sees the rep''s planning rules as %s', persona, expected))
  from (values
    ('rep', array['[{"referral_close_rate": 0.40000, "referred_value_multiplier": null, "expected_referrals_per_month": 4}]']),
    ('team_manager', array['[{"referral_close_rate": 0.40000, "referred_value_multiplier": null, "expected_referrals_per_month": 4}]']),
    ('other', '{NULL}'::text[])
  ) v(persona, expected);
update public.referral_rules set active = false where id = tests.id('rule_rep');
select is(tests.seen('rep', format($$select (public.goal_tracking(p_goal_id => %L) -> 0 -> 'referral_rules')::text$$, tests.id('goal_rep'))),
  array['[]'], 'goal_tracking: an inactive rule does not plan');

-- A goal for this month is current; without p_goal_id only current goals come back.
insert into public.goals (user_id, sim_id, income_target_cents, period_kind, period_start, time_zone)
values (tests.id('rep'), tests.id('sim_global'), 500000, 'month',
        date_trunc('month', now() at time zone 'Pacific/Auckland')::date, 'Pacific/Auckland');
select tests.authenticate_as('rep');
select is((select array_agg(g ->> 'today' = to_char(now() at time zone 'Pacific/Auckland', 'YYYY-MM-DD'))
             from jsonb_array_elements(public.goal_tracking(p_period_kind => 'month')) g),
  array[true], 'goal_tracking: the current month''s goal, with today in its time zone');
select tests.clear_authentication();

-- ## activities count only towards their owner's goal, within its period
select is(tests.try_as('rep', format($$insert into activities (type, occurred_on, goal_id) values ('call', date '2026-03-03', %L)$$, tests.id('goal_rep2'))),
  format('23503 goal %s is not one of user %s''s goals covering 2026-03-03', tests.id('goal_rep2'), tests.id('rep')),
  'activities: another member''s goal is refused');
select is(tests.try_as('rep', format($$insert into activities (type, occurred_on, goal_id) values ('call', date '2025-12-31', %L)$$, tests.id('goal_rep'))),
  format('23503 goal %s is not one of user %s''s goals covering 2025-12-31', tests.id('goal_rep'), tests.id('rep')),
  'activities: a day outside the goal''s period is refused');

select * from finish();
rollback;
