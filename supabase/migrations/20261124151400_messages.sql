-- In-app messages. A thread is between two members of one organization; a manager (team
-- manager, enterprise TM or admin) starts it with a member they manage, and both may then write
-- in it. Each side deletes only its own copy. Retention (12 months) deletes through the service
-- role. Gated by the `messaging` feature.

-- ## Threads
create table public.message_threads (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  started_by uuid not null default auth.uid() references auth.users (id) on delete cascade,
  participant_id uuid not null references auth.users (id) on delete cascade,
  subject text not null default '' check (length(subject) <= 200),
  created_at timestamptz not null default now(),
  last_message_at timestamptz,
  constraint a_thread_has_two_people check (started_by <> participant_id)
);
comment on table public.message_threads is 'Conversations between a manager and a member they manage.';
comment on column public.message_threads.id is 'Identifier.';
comment on column public.message_threads.org_id is 'The organization of both participants, set by the database.';
comment on column public.message_threads.started_by is 'The manager who started it (the caller by default).';
comment on column public.message_threads.participant_id is 'The other participant.';
comment on column public.message_threads.subject is 'Optional subject.';
comment on column public.message_threads.created_at is 'When it was started.';
comment on column public.message_threads.last_message_at is 'When the last message was sent (for sorting threads).';
alter table public.message_threads enable row level security;
create index message_threads_started_by_idx on public.message_threads (started_by, last_message_at desc);
create index message_threads_participant_id_idx on public.message_threads (participant_id, last_message_at desc);
create index message_threads_org_id_idx on public.message_threads (org_id);

create or replace function private.set_thread_org() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  select m.org_id into new.org_id from public.memberships m where m.user_id = new.started_by;
  if new.org_id is null or not exists (
    select 1 from public.memberships where user_id = new.participant_id and org_id = new.org_id
  ) then
    raise exception 'both participants of a thread are members of one organization'
      using errcode = 'check_violation';
  end if;
  return new;
end
$$;
comment on function private.set_thread_org() is
  'Trigger: a thread''s organization is its starter''s, and the participant is a member of it.';
create trigger message_threads_set_org before insert on public.message_threads
  for each row when (new.started_by is not null)
  execute function private.set_thread_org();

-- ## Messages
create table public.messages (
  id uuid primary key default gen_random_uuid(),
  thread_id uuid not null references public.message_threads (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  sender_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  recipient_id uuid not null references auth.users (id) on delete cascade,
  body text not null check (length(btrim(body)) between 1 and 4000),
  read_at timestamptz,
  deleted_by_sender boolean not null default false,
  deleted_by_recipient boolean not null default false,
  created_at timestamptz not null default now()
);
comment on table public.messages is 'Messages in a thread; each side sees its copy until it deletes it.';
comment on column public.messages.id is 'Identifier.';
comment on column public.messages.thread_id is 'The thread.';
comment on column public.messages.org_id is 'The thread''s organization, set by the database.';
comment on column public.messages.sender_id is 'Who wrote it (the caller by default).';
comment on column public.messages.recipient_id is 'The other participant of the thread, set by the database.';
comment on column public.messages.body is 'Plain text, at most 4000 characters.';
comment on column public.messages.read_at is 'When the recipient read it.';
comment on column public.messages.deleted_by_sender is 'The sender deleted their copy.';
comment on column public.messages.deleted_by_recipient is 'The recipient deleted their copy.';
comment on column public.messages.created_at is 'When it was sent (retention counts from here).';
alter table public.messages enable row level security;
create index messages_thread_id_created_at_idx on public.messages (thread_id, created_at);
create index messages_sender_id_idx on public.messages (sender_id);
create index messages_unread_by_recipient_idx on public.messages (recipient_id) where read_at is null;
create index messages_recipient_id_idx on public.messages (recipient_id);
create index messages_org_id_idx on public.messages (org_id);
create index messages_created_at_idx on public.messages (created_at);

-- Through the API a message is written once (thread and body) and its recipient marks it read;
-- deleting a copy goes through public.delete_message_copy.
revoke insert, update on public.messages from anon, authenticated;
grant insert (thread_id, body) on public.messages to authenticated;
grant update (read_at) on public.messages to authenticated;

create or replace function private.address_message() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  thread public.message_threads;
begin
  select * into thread from public.message_threads where id = new.thread_id;
  if new.sender_id not in (thread.started_by, thread.participant_id) then
    raise exception 'only the participants of a thread write in it' using errcode = 'check_violation';
  end if;
  new.org_id := thread.org_id;
  new.recipient_id := case when new.sender_id = thread.started_by
                           then thread.participant_id else thread.started_by end;
  update public.message_threads set last_message_at = new.created_at where id = thread.id;
  return new;
end
$$;
comment on function private.address_message() is
  'Trigger: a message goes from a participant of its thread to the other one, in the thread''s organization.';
create trigger messages_address before insert on public.messages
  for each row when (new.sender_id is not null)
  execute function private.address_message();

-- Deleting one's copy is a function: the row then leaves the caller's sight, which an UPDATE
-- under RLS refuses (the new row must stay visible).
create or replace function public.delete_message_copy(message_id uuid) returns boolean
language plpgsql security definer set search_path = ''
as $$
declare
  caller uuid := auth.uid();
begin
  if caller is null or private.is_read_only() then
    raise exception 'permission denied to delete a message' using errcode = 'insufficient_privilege';
  end if;
  update public.messages
     set deleted_by_sender = deleted_by_sender or sender_id = caller,
         deleted_by_recipient = deleted_by_recipient or recipient_id = caller
   where id = message_id
     and (sender_id = caller or recipient_id = caller)
     and org_id in (select private.active_org_ids());
  return found;
end
$$;
comment on function public.delete_message_copy(uuid) is
  'Deletes the caller''s copy of a message (sender or recipient); the other side keeps theirs. True when found.';
revoke execute on function public.delete_message_copy(uuid) from public, anon;
grant execute on function public.delete_message_copy(uuid) to authenticated, service_role;

-- ## Policies: threads
create policy "participants read their threads" on public.message_threads
  for select to authenticated
  using (
    org_id in (select private.active_org_ids())
    and (started_by = (select auth.uid()) or participant_id = (select auth.uid()))
  );
create policy "managers start threads with members they manage" on public.message_threads
  for insert to authenticated
  with check (
    started_by = (select auth.uid())
    and org_id in (select private.org_ids_with_role('{team_manager,enterprise_tm,enterprise_admin}'))
    and participant_id in (select private.managed_user_ids())
    and (select private.feature_enabled('messaging'))
  );
select private.add_write_guards('public.message_threads');

-- ## Policies: messages
create policy "participants read their copy of a message" on public.messages
  for select to authenticated
  using (
    org_id in (select private.active_org_ids())
    and ((sender_id = (select auth.uid()) and not deleted_by_sender)
         or (recipient_id = (select auth.uid()) and not deleted_by_recipient))
  );
create policy "participants write in their threads" on public.messages
  for insert to authenticated
  with check (
    sender_id = (select auth.uid())
    and org_id in (select private.active_org_ids())
    and thread_id in (select t.id from public.message_threads t)
    and (select private.feature_enabled('messaging'))
  );
create policy "recipients mark their messages read" on public.messages
  for update to authenticated
  using (org_id in (select private.active_org_ids()) and recipient_id = (select auth.uid()))
  with check (org_id in (select private.active_org_ids()) and recipient_id = (select auth.uid()));
select private.add_write_guards('public.messages');

-- ## Notification preferences
create table public.notification_preferences (
  user_id uuid primary key default auth.uid() references auth.users (id) on delete cascade,
  in_app_toasts boolean not null default true,
  email_on_message boolean not null default true,
  email_batch_minutes smallint not null default 15 check (email_batch_minutes between 1 and 1440),
  updated_at timestamptz not null default now()
);
comment on table public.notification_preferences is
  'Per-user notification choices (the unread badge is always on). No row means the defaults.';
comment on column public.notification_preferences.user_id is 'The user (the caller by default).';
comment on column public.notification_preferences.in_app_toasts is 'Show a toast feed in the app.';
comment on column public.notification_preferences.email_on_message is 'E-mail about new messages.';
comment on column public.notification_preferences.email_batch_minutes is 'Messages within this window share one e-mail.';
comment on column public.notification_preferences.updated_at is 'When the row last changed.';
alter table public.notification_preferences enable row level security;
create trigger notification_preferences_touch_updated_at before update on public.notification_preferences
  for each row execute function private.touch_updated_at();

create policy "users read their notification preferences" on public.notification_preferences
  for select to authenticated
  using (user_id = (select auth.uid()) and (select private.has_active_org()));
create policy "users set their notification preferences" on public.notification_preferences
  for insert to authenticated
  with check (user_id = (select auth.uid()) and (select private.has_active_org()));
create policy "users change their notification preferences" on public.notification_preferences
  for update to authenticated
  using (user_id = (select auth.uid()) and (select private.has_active_org()))
  with check (user_id = (select auth.uid()) and (select private.has_active_org()));
create policy "users reset their notification preferences" on public.notification_preferences
  for delete to authenticated
  using (user_id = (select auth.uid()) and (select private.has_active_org()));
select private.add_write_guards('public.notification_preferences');
