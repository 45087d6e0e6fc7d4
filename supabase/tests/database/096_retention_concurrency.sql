-- Retention over real connections (dblink), with committed rows removed at the end: two runs at
-- once neither wait for each other nor count a row twice, and the procedure pg_cron calls
-- commits batch by batch and writes one audit entry. No persona world here: its truncates
-- would lock the tables the other connections delete from.
begin;
select plan(6);

create extension if not exists dblink with schema extensions;
-- Expired throttle counters (no foreign keys), tagged with this run so reruns never collide.
create temp table run as
select format('dbname=%s port=%s user=postgres', current_database(), current_setting('port'))
         || coalesce(' host=' || host(inet_server_addr()), '') as conn,
       gen_random_uuid()::text as tag;
create function pg_temp.expired_rows(label text, how_many integer) returns text
language sql as $$
  select format($f$insert into public.login_throttles (subject, key_hash, failures, last_failure_at)
                   select 'address', extensions.digest(%L || i, 'sha256'), 1, now() - interval '2 days' - i * interval '1 second'
                     from generate_series(1, %s) i$f$, label || (select tag from run), how_many)
$$;
create function pg_temp.left_of(label text, how_many integer) returns bigint
language sql as $$
  select count(*) from dblink('second', format($f$select 1 from public.login_throttles where key_hash in
           (select extensions.digest(%L || i, 'sha256') from generate_series(1, %s) i)$f$,
           label || (select tag from run), how_many)) t(one int)
$$;
select dblink_connect('first', conn), dblink_connect('second', conn) from run;

-- ## Two runs at once
select dblink_exec('first', pg_temp.expired_rows('race', 10));
select dblink_exec('first', 'begin');
select dblink_exec('first', 'set local role service_role');
select is((select n from dblink('first', $$select (public.retention_delete_batch(6) -> 'deleted' ->> 'public.login_throttles')::int$$) t(n int)),
          6, 'the first run deletes a batch of six and keeps its transaction open');
select dblink_exec('second', 'set statement_timeout = ''5s''');
select is((select n from dblink('second', $$set role service_role; select (public.retention_delete_batch(6) -> 'deleted' ->> 'public.login_throttles')::int$$) t(n int)),
          4, 'a second run meanwhile skips the six the first holds and deletes the other four, without waiting');
select dblink_exec('first', 'commit');
select is(pg_temp.left_of('race', 10), 0::bigint, 'together they deleted all ten, each row counted by one run: 6 + 4');

-- ## The procedure pg_cron calls
select dblink_exec('first', pg_temp.expired_rows('procedure', 7));
select is(dblink_exec('first', 'call private.run_retention(3)'), 'CALL', 'pg_cron''s command runs outside a transaction block');
select is((select after from dblink('second', $$select after from public.audit_log where action = 'retention.run' order by id desc limit 1$$) t(after jsonb)),
          '{"batches": 4, "complete": true, "deleted": {"public.notifications": 0, "public.messages": 0, "public.login_throttles": 7, "public.message_threads": 0, "public.impersonation_sessions": 0, "public.email_outbox": 0, "public.email_delivery_events": 0, "public.mailgun_webhook_tokens": 0}}'::jsonb,
          'seven expired rows in batches of three: 3 + 3 + 1, then one that finds nothing, each committed; one audit entry with the total');
select is(pg_temp.left_of('procedure', 7), 0::bigint, 'and the rows are gone');
select dblink_exec('second', $$delete from public.audit_log where action = 'retention.run' and actor_role = 'postgres'$$);
select dblink_disconnect('first'), dblink_disconnect('second');

select * from finish();
rollback;
