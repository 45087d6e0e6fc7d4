-- A lapsed subscription makes its organization read-only in the database: every kind of write of
-- its members is refused (inserts fail, updates and deletes touch nothing) while their reads,
-- billing included, still work; in grace, in another organization, as a platform admin or once
-- paid, the same writes go through. Suspended organizations are left out by the helpers
-- every write policy uses.
begin;
select plan(60);
select tests.create_world();
select tests.create_member_data();
select tests.create_messages();
select tests.create_billing();

create function pg_temp.set_standing(status text, grace_until timestamptz) returns void
language sql as $$
  update public.subscriptions set status = $1, grace_until = $2 where id = tests.id('sub_a')
$$;
-- A guard refusal as the restrictive insert policy reports it.
create function pg_temp.guarded(target text) returns text
language sql immutable as $$
  select format('42501 new row violates row-level security policy "read-only sessions insert nothing" for table "%s"', target)
$$;

-- One write of each kind per table the API writes, by the member allowed to make it.
create temporary table writes (persona text, statement text, when_paid text, when_lapsed text);
insert into writes values
  ('rep', $$insert into activities (type, occurred_on) values ('call', date '2026-03-03')$$, 'ok 1', pg_temp.guarded('activities')),
  ('rep', $$update activities set quantity = 1 where id = tests.id('act_rep')$$, 'ok 1', 'ok 0'),
  ('rep', $$delete from activities where id = tests.id('act_rep')$$, 'ok 1', 'ok 0'),
  ('rep', $$insert into goals (sim_id, income_target_cents, period_kind, period_start) values (tests.id('sim_global'), 1, 'month', date '2026-02-01')$$, 'ok 1', pg_temp.guarded('goals')),
  ('rep', $$update goals set income_target_cents = 1 where id = tests.id('goal_rep')$$, 'ok 1', 'ok 0'),
  ('rep', $$insert into scenarios (name, inputs) values ('Again', '{}')$$, 'ok 1', pg_temp.guarded('scenarios')),
  ('rep', $$delete from referral_rules where id = tests.id('rule_rep')$$, 'ok 1', 'ok 0'),
  ('rep', $$update annotations set body = 'Better day' where id = tests.id('note_rep')$$, 'ok 1', 'ok 0'),
  ('rep', $$update profiles set full_name = 'Renamed' where id = auth.uid()$$, 'ok 1', 'ok 0'),
  ('rep', $$insert into notification_preferences (email_on_message) values (false)$$, 'ok 1', pg_temp.guarded('notification_preferences')),
  ('rep', $$insert into messages (thread_id, body) values (tests.id('thread_tm'), 'Hello')$$, 'ok 1', pg_temp.guarded('messages')),
  ('rep', $$update messages set read_at = now() where id = tests.id('msg_tm')$$, 'ok 1', 'ok 0'),
  ('rep', $$select 1 where public.delete_message_copy(tests.id('msg_tm'))$$, 'ok 1', '42501 permission denied to delete a message'),
  ('team_manager', $$insert into annotations (user_id, on_date, body) values (tests.id('rep'), date '2026-03-03', 'Call earlier')$$, 'ok 1', pg_temp.guarded('annotations')),
  ('team_manager', $$insert into message_threads (participant_id, subject) values (tests.id('rep'), 'Pace')$$, 'ok 1', pg_temp.guarded('message_threads')),
  ('enterprise_tm', $$delete from team_managers where user_id = tests.id('team_manager')$$, 'ok 1', 'ok 0'),
  ('enterprise_admin', $$update organizations set name = 'Renamed' where id = tests.id('org_a')$$, 'ok 1', 'ok 0'),
  ('enterprise_admin', $$insert into teams (org_id, name) values (tests.id('org_a'), 'A3')$$, 'ok 1', pg_temp.guarded('teams')),
  ('enterprise_admin', $$update memberships set team_id = tests.id('team_a2') where user_id = tests.id('rep')$$, 'ok 1', 'ok 0'),
  ('enterprise_admin', $$select admin_save_sim(jsonb_build_object('org_id', tests.id('org_a'), 'key', 'new', 'name', 'New', 'industry', 'Solar', 'average_deal_value_cents', 100, 'stages', '[{"key": "deal", "name": "Deal", "activity_type": "deal"}]'::jsonb))$$, 'ok 1', '42501 you may not manage these SIMs'),
  ('enterprise_admin', $$select admin_set_sim_status(tests.id('sim_a'), 'retired')$$, 'ok 1', '42501 you may not manage this SIM');

-- ## Paid, then lapsed
select is(tests.try_as(persona, statement), when_paid, format('paid: %s gets %s for %s', persona, when_paid, statement))
  from writes;
select pg_temp.set_standing('past_due', now() - interval '1 second');
select is(tests.try_as(persona, statement), when_lapsed, format('lapsed: %s gets %s for %s', persona, when_lapsed, statement))
  from writes;

-- Reads still work, billing included.
select is(tests.seen(persona, query), expected, format('lapsed: %s still reads %s', persona, expected))
  from (values
    ('rep', $$select tests.name(id) from activities$$, '{act_rep}'::text[]),
    ('enterprise_admin', $$select tests.name(id) from activities$$, '{act_rep,act_rep2}'),
    ('rep', $$select tests.name(id) from messages$$, '{msg_rep,msg_tm}'),
    ('rep', $$select full_name from profiles where id = auth.uid()$$, '{Rep}'),
    ('enterprise_admin', $$select tests.name(id) || ' ' || status from subscriptions$$, '{"sub_a past_due"}'),
    ('enterprise_admin', $$select stripe_customer_id from stripe_customers$$, '{cus_a}'),
    ('enterprise_admin', $$select tests.name(id) from payment_holds$$, '{hold_a}')
  ) v(persona, query, expected);

-- ## Not locked: another organization, a platform admin, grace, payment
select is(tests.try_as('other', $$insert into activities (type, occurred_on) values ('call', date '2026-03-03')$$), 'ok 1',
          'another organization (no subscription row) writes as before');
insert into platform_admins (user_id) values (tests.id('rep'));
select is(tests.try_as('rep', $$insert into activities (type, occurred_on) values ('call', date '2026-03-03')$$), 'ok 1',
          'a platform admin who is a member of the lapsed organization still writes');
delete from platform_admins where user_id = tests.id('rep');
select pg_temp.set_standing('past_due', now() + interval '1 day');
select is(tests.try_as('rep', $$insert into activities (type, occurred_on) values ('call', date '2026-03-03')$$), 'ok 1',
          'in grace the writes go through');
select pg_temp.set_standing('canceled', null);
select is(tests.try_as('enterprise_admin', $$insert into teams (org_id, name) values (tests.id('org_a'), 'A3')$$), pg_temp.guarded('teams'),
          'canceled (no paid plan in force) is read-only too');
select pg_temp.set_standing('active', null);
select is(tests.try_as('rep', $$insert into activities (type, occurred_on) values ('call', date '2026-03-03')$$), 'ok 1',
          'once paid the writes go through again');

-- ## Suspended organizations are outside every helper the write policies use
select is(tests.seen('suspended', $$select count(*) from (select private.active_org_ids() union all
                                     select private.org_ids_with_role('{rep,team_manager,enterprise_tm,enterprise_admin}')) ids$$),
          '{0}', 'a suspended member has no active organization and no role in one');
select is(tests.seen('suspended', $$select concat_ws(' ', private.has_active_org(), private.active_org_id(), private.readable_user_ids())$$),
          '{"f {}"}', 'nor an active organization id or readable users');
select is(tests.try_as('suspended', statement), expected, format('suspended: %s gets %s', statement, expected))
  from (values
    ($$insert into activities (type, occurred_on) values ('call', date '2026-03-03')$$, '42501 new row violates row-level security policy for table "activities"'),
    ($$update activities set quantity = 1 where id = tests.id('act_suspended')$$, 'ok 0'),
    ($$delete from goals where id = tests.id('goal_suspended')$$, 'ok 0'),
    ($$insert into notification_preferences (email_on_message) values (false)$$, '42501 new row violates row-level security policy for table "notification_preferences"')
  ) v(statement, expected);

select * from finish();
rollback;
