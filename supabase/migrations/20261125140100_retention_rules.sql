-- What the retention job deletes among the tables that exist today. Tables added later register
-- themselves in their own migrations.
--
-- Deliberately kept (no rule): the audit log (the record of who did what, retention runs
-- included), the Stripe webhook ledger, payment holds, subscriptions and every other billing
-- table (money figures never go missing, and the ledger's event ids are what makes a replayed
-- event a no-op), the e-mail suppression list (a bounced or complaining address must stay
-- unmailed), and the users' own records (goals, activities, history, KPIs).

-- ## Messages: twelve months, as the product promises
select private.register_retention('public.messages', 'created_at', interval '12 months',
  'Messages disappear twelve months after they were sent (issue 9).', null, 10::smallint);

-- A thread goes once its last message has (deleted just before it in the same batch) and it is
-- itself older than the messages' retention. A reply arriving meanwhile sets last_message_at
-- (and locks the thread row), so a thread with a new message is never taken.
create index message_threads_created_at_idx on public.message_threads (created_at);
select private.register_retention('public.message_threads', 'created_at', interval '12 months',
  'A thread older than twelve months whose messages are all gone holds nothing worth keeping.',
  'coalesce(last_message_at, created_at) < $1 '
  'and not exists (select 1 from public.messages m where m.thread_id = message_threads.id)',
  20::smallint);

-- ## Support impersonation sessions: 90 days after they expired
-- The audit log keeps each session whole (impersonation.start carries the row, impersonation.end
-- its before and after), so the table only has to outlive the tokens and recent support reviews.
create index impersonation_sessions_expires_at_idx on public.impersonation_sessions (expires_at);
select private.register_retention('public.impersonation_sessions', 'expires_at', interval '90 days',
  'Expired support sessions; the audit log keeps the record of each.');

-- ## Sign-in throttles: a day after the last failure
-- A streak is over 15 minutes after its last failure or lock (a lock is at most 15 minutes), so
-- a day-old counter never counts again; recording a failure prunes some too, this takes the rest.
select private.register_retention('public.login_throttles', 'last_failure_at', interval '1 day',
  'Failure counters of streaks long over (hashed e-mails and addresses are personal data).');
