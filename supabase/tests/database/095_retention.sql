-- Retention: who may run it, exactly which rows each registered table loses (at the cutoff's
-- edge), the counts and batching, the registry's checks, and two runs at once over real
-- connections (dblink): neither waits for the other and every row is deleted and counted once.
begin;
select plan(40);
select tests.create_world();
delete from login_throttles;
delete from impersonation_sessions;
delete from email_outbox;
delete from email_delivery_events;
delete from mailgun_webhook_tokens;

-- ## Who may run it
select is(has_function_privilege(role, fn, 'execute'), role = 'service_role',
          format('%s %s execute %s', role, case when role = 'service_role' then 'may' else 'may not' end, fn))
  from unnest(array['anon', 'authenticated', 'service_role']) role,
       unnest(array['public.retention_delete_batch(integer, timestamptz)',
                    'public.retention_record_run(jsonb, integer, boolean)']) fn;
select is(array(select role from unnest(array['anon', 'authenticated', 'service_role']) role
                 where has_function_privilege(role, 'private.run_retention(integer, interval)', 'execute')),
          '{}'::text[], 'no API role may call the procedure pg_cron runs');
select is(tests.try_as(persona, $$select public.retention_delete_batch()$$),
          '42501 permission denied for function retention_delete_batch',
          format('%s cannot delete through retention', persona))
  from unnest(array['rep', 'enterprise_admin', 'platform_admin', 'anon']) persona;
select is(tests.try_as('platform_admin', $$select * from private.retention_rules$$),
          '42501 permission denied for table retention_rules', 'nobody reads the registry through the API');

-- ## The registry
select is(array(select format('%I.%I %s', c.relnamespace::regnamespace, c.relname, r.keep)
                  from private.retention_rules r join pg_class c on c.oid = r.table_name
                 order by r.run_order, c.relname),
          array['public.notifications 30 days', 'public.messages 1 year', 'public.message_threads 1 year',
                'public.email_delivery_events 90 days', 'public.email_outbox 90 days',
                'public.impersonation_sessions 90 days', 'public.login_throttles 1 day',
                'public.mailgun_webhook_tokens 10:00:00'],
          'toasts go after 30 or 90 days, messages and threads after twelve months, support sessions 90 days after expiry, throttles after a day');
select throws_ok($$select private.register_retention('public.messages', 'body', interval '1 day', 'x')$$,
                 '22023', 'retention: public.messages.body is no timestamptz column',
                 'a retention counts from a timestamptz column');
select throws_ok($$select private.register_retention('public.messages', 'read_at', interval '1 day', 'x')$$,
                 '22023', 'retention: no index leads with public.messages.read_at, so every batch would scan the table',
                 'and from an indexed one, so a batch is an index range');
select throws_ok($$select private.register_retention('public.messages', 'created_at', interval '1 day', 'x', 'no_such_column')$$,
                 '42703', null, 'a condition that does not plan fails the migration that registers it');
select throws_ok($$select private.register_retention('public.messages', 'created_at', interval '-1 day', 'x')$$,
                 '23514', null, 'a retention keeps rows for a positive time');

-- ## Exactly the expired rows go
-- Ages relative to the transaction's now(), the cutoff the RPC uses by default.
create function pg_temp.ago(age interval) returns timestamptz
language sql stable as $$ select now() - age $$;
insert into message_threads (id, started_by, participant_id, subject, created_at)
values (tests.named('old_thread'), tests.id('team_manager'), tests.id('rep'), 'Old, all expired', pg_temp.ago('13 months')),
       (tests.named('old_thread_alive'), tests.id('team_manager'), tests.id('rep'), 'Old, answered lately', pg_temp.ago('14 months')),
       (tests.named('old_empty'), tests.id('enterprise_admin'), tests.id('rep2'), 'Old, never written in', pg_temp.ago('13 months')),
       (tests.named('new_empty'), tests.id('enterprise_admin'), tests.id('rep'), 'New, empty', pg_temp.ago('11 months'));
insert into messages (id, thread_id, sender_id, body, created_at)
values (tests.named('m_13_months'), tests.id('old_thread'), tests.id('team_manager'), 'a', pg_temp.ago('13 months')),
       (tests.named('m_over_a_year'), tests.id('old_thread'), tests.id('rep'), 'b', pg_temp.ago('1 year 1 second')),
       (tests.named('m_14_months'), tests.id('old_thread_alive'), tests.id('team_manager'), 'c', pg_temp.ago('14 months')),
       (tests.named('m_a_year'), tests.id('old_thread_alive'), tests.id('rep'), 'd', pg_temp.ago('1 year')),
       (tests.named('m_recent'), tests.id('old_thread_alive'), tests.id('team_manager'), 'e', pg_temp.ago('2 days'));
insert into impersonation_sessions (id, admin_id, user_id, reason, started_at, expires_at)
select tests.named(name), tests.id('platform_admin'), tests.id('rep'), 'Ticket 1234: cannot see goals', ended - interval '15 minutes', ended
  from (values ('session_91_days', pg_temp.ago('91 days')), ('session_89_days', pg_temp.ago('89 days')),
               ('session_live', pg_temp.ago('-10 minutes'))) s(name, ended);
-- Toasts (the trigger's own for the messages above are new, so they stay): seen ones after 30
-- days, unseen ones after 90.
insert into notifications (user_id, org_id, kind, message_id, thread_id, created_at, seen_at)
select tests.id('rep'), tests.id('org_a'), 'message', tests.id('m_recent'), tests.id('old_thread_alive'),
       pg_temp.ago(age), case when seen then pg_temp.ago(age) end
  from (values ('31 days'::interval, true), ('29 days', true), ('91 days', false), ('89 days', false)) t(age, seen);
-- E-mail: finished batches and Mailgun's events after 90 days (a pending batch never), webhook
-- tokens once no signature of theirs could be accepted.
insert into email_outbox (id, recipient_id, status, attempts, next_attempt_at, created_at, finished_at)
values (tests.named('batch_sent_91_days'), tests.id('rep'), 'sent', 1, pg_temp.ago('92 days'), pg_temp.ago('92 days'), pg_temp.ago('91 days')),
       (tests.named('batch_sent_89_days'), tests.id('rep'), 'sent', 1, pg_temp.ago('90 days'), pg_temp.ago('90 days'), pg_temp.ago('89 days')),
       (tests.named('batch_pending_old'), tests.id('rep2'), 'pending', 9, pg_temp.ago('200 days'), pg_temp.ago('200 days'), null);
insert into email_delivery_events (mailgun_event_id, occurred_at, event, recipient, received_at)
values ('event_91_days', pg_temp.ago('91 days'), 'delivered', 'rep@example.test', pg_temp.ago('91 days')),
       ('event_89_days', pg_temp.ago('89 days'), 'delivered', 'rep@example.test', pg_temp.ago('89 days'));
insert into mailgun_webhook_tokens (token, signed_at)
values ('token_11_hours', pg_temp.ago('11 hours')), ('token_9_hours', pg_temp.ago('9 hours'));
insert into login_throttles (subject, key_hash, failures, last_failure_at, locked_until)
values ('account', extensions.digest('25 hours', 'sha256'), 5, pg_temp.ago('25 hours'), pg_temp.ago('24 hours 59 minutes')),
       ('account', extensions.digest('23 hours', 'sha256'), 2, pg_temp.ago('23 hours'), null);

set local role service_role;
select is(public.retention_delete_batch(2) -> 'deleted',
          '{"public.notifications": 2, "public.messages": 2, "public.message_threads": 1, "public.login_throttles": 1, "public.impersonation_sessions": 1,
            "public.email_outbox": 1, "public.email_delivery_events": 1, "public.mailgun_webhook_tokens": 1}',
          'a batch of two takes the two oldest expired messages, and the threads, toasts and other rows that expired');
reset role;
select is(array(select tests.name(id) from messages order by created_at),
          array['m_over_a_year', 'm_a_year', 'm_recent'],
          'the two oldest expired messages went first; the third waits for the next batch');
select is(array(select tests.name(id) from message_threads order by subject), array['new_empty', 'old_thread', 'old_thread_alive'],
          'the old thread nobody wrote in went; the one with an expired message left waits');
select is(array(select tests.name(id) from impersonation_sessions order by expires_at), array['session_89_days', 'session_live'],
          'support sessions expired more than 90 days ago go');
select is((select array_agg(failures) from login_throttles), '{2}'::integer[], 'throttles idle for more than a day go');
select is(array(select tests.name(id) from email_outbox where created_at < now() - interval '1 day' order by created_at), array['batch_pending_old', 'batch_sent_89_days'],
          'a batch finished more than 90 days ago goes; a pending one stays whatever its age');
select is(array(select mailgun_event_id from email_delivery_events order by received_at), array['event_89_days'],
          'Mailgun''s events go after 90 days');
select is(array(select token from mailgun_webhook_tokens order by signed_at), array['token_9_hours'],
          'a webhook token goes once its signature is past the 9-hour window (plus an hour)');
select is(array(select format('%s %s', extract(day from now() - created_at), (seen_at is not null)::text) from notifications
                 where created_at < now() - interval '1 day' order by created_at),
          array['89 false', '29 true'], 'a seen toast goes after 30 days, an unseen one after 90');

set local role service_role;
select is(public.retention_delete_batch(2) - 'at',
          jsonb_build_object('deleted', '{"public.notifications": 0, "public.messages": 1, "public.message_threads": 1, "public.login_throttles": 0, "public.impersonation_sessions": 0,
                                          "public.email_outbox": 0, "public.email_delivery_events": 0, "public.mailgun_webhook_tokens": 0}'::jsonb,
                             'more', true, 'as_of', floor(extract(epoch from now()))::bigint),
          'the next batch takes the last expired message and then its thread, and asks for another batch');
select is(public.retention_delete_batch(1000) - 'at' - 'as_of',
          '{"deleted": {"public.notifications": 0, "public.messages": 0, "public.message_threads": 0, "public.login_throttles": 0, "public.impersonation_sessions": 0,
                       "public.email_outbox": 0, "public.email_delivery_events": 0, "public.mailgun_webhook_tokens": 0}, "more": false}',
          'the batch after deletes nothing and ends the run');
reset role;
select is(array(select tests.name(id) from messages order by created_at), array['m_a_year', 'm_recent'],
          'a message exactly twelve months old stays (the cutoff is exclusive), newer ones too');
select is(array(select tests.name(id) from message_threads order by subject), array['new_empty', 'old_thread_alive'],
          'a thread with a recent message stays however old it is, an empty one younger than a year too');
select is((select count(*) from messages where created_at < now() - interval '1 year'), 0::bigint,
          'no message older than twelve months is left');

-- A clock ahead of the database's is not believed.
insert into messages (id, thread_id, sender_id, body, created_at)
values (tests.named('m_6_months'), tests.id('old_thread_alive'), tests.id('rep'), 'f', pg_temp.ago('6 months'));
set local role service_role;
select is((public.retention_delete_batch(1000, now() + interval '1 year') -> 'deleted' ->> 'public.messages')::integer, 0,
          'as_of later than now() counts as now(): nothing expires early');
select is((public.retention_delete_batch(1000, now() - interval '1 day') -> 'deleted' ->> 'public.messages')::integer, 0,
          'an earlier as_of deletes no more than it should');
select throws_ok($$select public.retention_delete_batch(0)$$, '22023', 'batch_size must be between 1 and 10000',
                 'an empty batch is refused');
select throws_ok($$select public.retention_delete_batch(10001)$$, '22023', null, 'so is an oversized one');

-- ## The run's audit entry
create temp table recorded as
select public.retention_record_run('{"public.messages": 3, "public.message_threads": 2}', 2, true) as id;
select is((select string_agg(action || ' ' || after::text, '; ') from audit_log where id >= (select id from recorded)),
          'retention.run {"batches": 2, "deleted": {"public.messages": 3, "public.message_threads": 2}, "complete": true}',
          'a run writes one audit entry with its counts per table');
select throws_ok($$select public.retention_record_run('{"public.organizations": 1}', 1, true)$$, '22023',
                 'not a registered table with a count: public.organizations', 'only registered tables are counted');
select throws_ok($$select public.retention_record_run('{"public.messages": -1}', 1, true)$$, '22023', null,
                 'a count is never negative');
select throws_ok($$select public.retention_record_run('{"public.messages": 1.5}', 1, true)$$, '22023', null,
                 'nor a fraction');
select throws_ok($$select public.retention_record_run('[]', 1, true)$$, '22023', null, 'counts are an object');
reset role;

select * from finish();
rollback;
