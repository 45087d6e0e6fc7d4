-- The dispatch job's RPCs: claiming due batches under a lease, recording sends and failures,
-- the back-off schedule, giving up, and batches that end without a send.
begin;
select plan(29);
select tests.create_world();
select tests.create_messages();

-- ## The back-off schedule
select is(array(select private.email_retry_delay(n) from generate_series(1, 9) n),
          array['1 minute', '2 minutes', '4 minutes', '8 minutes', '16 minutes', '32 minutes',
                '1 hour', '1 hour', '1 hour']::interval[],
          'the wait after each failed attempt doubles from a minute, capped at an hour');
select is((private.email_retry_delay(0), private.email_retry_delay(100000))::text,
          (interval '1 minute', interval '1 hour')::text, 'and stays in those bounds for any count');
select is(private.email_max_attempts(), 10, 'ten attempts, about four hours, before giving up');
select ok((select bool_and(private.email_retry_delay(n + 1) >= private.email_retry_delay(n))
             from generate_series(0, 100) n), 'the waits never shrink');

-- Batches of create_messages: rep (from the team manager), team_manager (from the rep), rep2.
create temporary table batch (persona text primary key, id uuid);
insert into batch select tests.name(recipient_id), id from email_outbox;
grant select on batch to service_role;

-- ## Claiming
set local role service_role;
select is((select count(*) from claim_email_batches()), 0::bigint, 'nothing is due within its window');
reset role;
update email_outbox set next_attempt_at = now() - interval '1 second';
insert into email_suppressions (address, reason) values ('rep2@example.test', 'bounced');

set local role service_role;
create temporary table claimed as select * from claim_email_batches(50, 300) c(b);
reset role;
select is(array(select tests.name((b ->> 'id')::uuid) from claimed order by 1),
          array(select id::text from batch where persona in ('rep', 'team_manager') order by 1),
          'the due batches are claimed, the suppressed address''s is not');
select is((select (b - 'id' - 'lease_token' - 'first_message_at') from claimed
            where (b ->> 'id')::uuid = (select id from batch where persona = 'rep')),
          jsonb_build_object('attempts', 0, 'recipient_email', 'rep@example.test',
                             'recipient_name', 'Rep', 'message_count', 1,
                             'sender_names', jsonb_build_array('Team Manager')),
          'a claim answers what the e-mail needs: address, name, count and who wrote');
select is((select (status, finished_at is not null, lease_token)::text from email_outbox
            where id = (select id from batch where persona = 'rep2')),
          ('suppressed', true, null::uuid)::text, 'a suppressed address''s batch ends without a send');
select ok((select bool_and(lease_until = now() + interval '300 seconds' and claimed_at = now())
             from email_outbox where id in (select (b ->> 'id')::uuid from claimed)),
          'claimed batches are leased');

set local role service_role;
select is((select count(*) from claim_email_batches()), 0::bigint,
          'a leased batch is not claimed again while its lease holds');
reset role;

-- ## Recording
create function pg_temp.lease(persona text) returns uuid language sql as $$
  select (b ->> 'lease_token')::uuid from claimed
   where (b ->> 'id')::uuid = (select id from batch where batch.persona = lease.persona)
$$;
create function pg_temp.batch(persona text) returns uuid language sql as $$
  select b.id from batch b where b.persona = $1
$$;
set local role service_role;
select is(record_email_failure(pg_temp.batch('rep'), gen_random_uuid(), 'x', false), null,
          'a failure under another lease is not recorded');
select is(record_email_failure(pg_temp.batch('rep'), pg_temp.lease('rep'), 'Mailgun answered 500', false),
          'pending', 'a failed attempt leaves the batch pending');
reset role;
select is((select (attempts, next_attempt_at - now(), last_error, lease_token)::text from email_outbox
            where id = pg_temp.batch('rep')),
          (1, interval '1 minute', 'Mailgun answered 500', null::uuid)::text,
          'with the attempt counted, the error kept and the next one a minute later');

set local role service_role;
select is((select count(*) from claim_email_batches()), 0::bigint, 'a batch waits out its back-off');
reset role;
update email_outbox set next_attempt_at = now() where id = pg_temp.batch('rep');
set local role service_role;
delete from claimed;
insert into claimed select * from claim_email_batches();
select is((select b -> 'attempts' from claimed), '1'::jsonb, 'then it is claimed again');
select is(record_email_sent(pg_temp.batch('rep'), pg_temp.lease('rep'), '<1@mg.test>'), true,
          'a send is recorded by the lease holder');
select is(record_email_sent(pg_temp.batch('rep'), pg_temp.lease('rep'), '<2@mg.test>'), false,
          'once');
reset role;
select is((select (status, attempts, mailgun_id, finished_at = now(), last_error)::text from email_outbox
            where id = pg_temp.batch('rep')),
          ('sent', 2, '<1@mg.test>', true, null::text)::text, 'a sent batch keeps Mailgun''s id');

-- A crashed run: its lease expires, another run claims the batch; the first cannot record.
update email_outbox set lease_until = now() - interval '1 second' where id = pg_temp.batch('team_manager');
set local role service_role;
create temporary table reclaimed as select * from claim_email_batches() c(b);
select is((select (b ->> 'id')::uuid from reclaimed), pg_temp.batch('team_manager'),
          'a batch whose lease expired is claimed again');
select isnt((select (b ->> 'lease_token')::uuid from reclaimed), pg_temp.lease('team_manager'),
            'under a new lease');
select is(record_email_sent(pg_temp.batch('team_manager'), pg_temp.lease('team_manager'), '<old@mg.test>'),
          false, 'the crashed run''s lease records nothing');
select is(record_email_failure(pg_temp.batch('team_manager'), (select (b ->> 'lease_token')::uuid from reclaimed),
                               '400 to parameter is not a valid address', true),
          'given_up', 'a permanent refusal gives up at once');
reset role;
select is((select (status, attempts, finished_at = now())::text from email_outbox
            where id = pg_temp.batch('team_manager')),
          ('given_up', 1, true)::text, 'and is recorded for support');

-- Out of attempts.
insert into messages (thread_id, sender_id, body) values (tests.id('thread_tm'), tests.id('team_manager'), 'Again');
update email_outbox set attempts = 9, claimed_at = now(), next_attempt_at = now()
 where recipient_id = tests.id('rep') and status = 'pending';
set local role service_role;
delete from claimed;
insert into claimed select * from claim_email_batches();
select is(record_email_failure((select (b ->> 'id')::uuid from claimed),
                               (select (b ->> 'lease_token')::uuid from claimed), 'timeout', false),
          'given_up', 'the tenth failed attempt gives up');
reset role;

-- E-mail turned off after the messages: canceled at the claim.
insert into messages (thread_id, sender_id, body) values (tests.id('thread_tm'), tests.id('rep'), 'Hi');
insert into notification_preferences (user_id, email_on_message) values (tests.id('team_manager'), false);
update email_outbox set next_attempt_at = now() where recipient_id = tests.id('team_manager') and status = 'pending';
set local role service_role;
select is((select count(*) from claim_email_batches()), 0::bigint, 'a batch whose recipient turned e-mail off is not sent');
reset role;
select is((select status from email_outbox where recipient_id = tests.id('team_manager') and status <> 'given_up'),
          'canceled', 'it is canceled');

-- Limits.
set local role service_role;
select throws_ok($$select claim_email_batches(0)$$, '22023', null, 'a claim takes 1 to 500 batches');
select throws_ok($$select claim_email_batches(501)$$, '22023', null, 'not more');
select throws_ok($$select claim_email_batches(10, 5)$$, '22023', null, 'and leases for 30 s to an hour');
reset role;

select * from finish();
rollback;
