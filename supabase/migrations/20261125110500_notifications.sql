-- The in-app toast feed: one row per event a user should notice (today: a message arrived),
-- written by a trigger when the recipient's in_app_toasts preference is on (no preferences row
-- means the defaults: on). Users read and mark seen only their own; the retention job deletes
-- old ones with the service role. The unread badge is not here: it is counted from messages.

create table public.notifications (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  kind text not null check (kind in ('message')),
  message_id uuid not null references public.messages (id) on delete cascade,
  thread_id uuid not null references public.message_threads (id) on delete cascade,
  created_at timestamptz not null default now(),
  seen_at timestamptz
);
comment on table public.notifications is
  'In-app toasts per user (a new message), in id order; the client polls from its last id.';
comment on column public.notifications.id is 'Increasing identifier: the feed''s cursor.';
comment on column public.notifications.user_id is 'Whom the toast is for.';
comment on column public.notifications.org_id is 'The organization the event happened in.';
comment on column public.notifications.kind is 'What happened: message (a message arrived).';
comment on column public.notifications.message_id is 'The message that arrived.';
comment on column public.notifications.thread_id is 'Its thread.';
comment on column public.notifications.created_at is 'When it was raised (retention counts from here).';
comment on column public.notifications.seen_at is 'When the user marked it seen; null while unseen.';
alter table public.notifications enable row level security;
create index notifications_user_id_id_idx on public.notifications (user_id, id);
create index notifications_org_id_idx on public.notifications (org_id);
create index notifications_message_id_idx on public.notifications (message_id);
create index notifications_thread_id_idx on public.notifications (thread_id);
create index notifications_created_at_idx on public.notifications (created_at);

-- Written by the trigger only; users mark seen.
revoke insert, update, delete on public.notifications from anon, authenticated;
grant update (seen_at) on public.notifications to authenticated;

create policy "users read their notifications" on public.notifications
  for select to authenticated
  using (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
create policy "users mark their notifications seen" on public.notifications
  for update to authenticated
  using (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()))
  with check (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
select private.add_write_guards('public.notifications');

create or replace function private.toast_message_recipient() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if coalesce((select p.in_app_toasts from public.notification_preferences p
                where p.user_id = new.recipient_id), true) then
    insert into public.notifications (user_id, org_id, kind, message_id, thread_id)
    values (new.recipient_id, new.org_id, 'message', new.id, new.thread_id);
  end if;
  return null;
end
$$;
comment on function private.toast_message_recipient() is
  'Trigger: a new message raises a toast for its recipient unless they turned in-app toasts off.';
create trigger messages_toast_recipient after insert on public.messages
  for each row execute function private.toast_message_recipient();

-- ## The feed and marking seen
create or replace function public.notification_feed(p_after bigint default 0, p_limit integer default 50)
returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  answer jsonb;
begin
  if p_limit is null or p_limit not between 1 and 100 then
    raise exception 'a page has 1 to 100 notifications' using errcode = 'invalid_parameter_value';
  end if;
  -- A toast whose message the user has deleted from their side is left out with it.
  with page as (
    select n.*, m.sender_id, left(m.body, 200) as preview
      from public.notifications n
      join public.messages m on m.id = n.message_id
     where n.user_id = (select auth.uid()) and n.id > coalesce(p_after, 0)
     order by n.id limit p_limit
  )
  select jsonb_build_object(
    'notifications', coalesce(jsonb_agg(jsonb_build_object(
        'id', p.id, 'kind', p.kind, 'created_at', p.created_at, 'seen_at', p.seen_at,
        'thread_id', p.thread_id, 'message_id', p.message_id,
        'sender', jsonb_build_object('id', p.sender_id, 'full_name', s.full_name),
        'preview', p.preview) order by p.id), '[]'::jsonb),
    'next_cursor', coalesce(max(p.id), coalesce(p_after, 0)),
    'more', count(*) = p_limit)
    into answer
    from page p left join public.profiles s on s.id = p.sender_id;
  return answer;
end
$$;
comment on function public.notification_feed(bigint, integer) is
  'The caller''s toasts after the id p_after, oldest first, at most p_limit (1-100), with the sender and a 200-character preview; next_cursor is the id to poll from next.';
revoke execute on function public.notification_feed(bigint, integer) from public, anon;
grant execute on function public.notification_feed(bigint, integer) to authenticated;

create or replace function public.mark_notifications_seen(p_through bigint) returns integer
language plpgsql volatile security invoker set search_path = ''
as $$
declare
  marked integer;
begin
  update public.notifications n set seen_at = now()
   where n.user_id = (select auth.uid()) and n.id <= p_through and n.seen_at is null;
  get diagnostics marked = row_count;
  return marked;
end
$$;
comment on function public.mark_notifications_seen(bigint) is
  'Marks the caller''s unseen toasts up to the id p_through seen; the number marked.';
revoke execute on function public.mark_notifications_seen(bigint) from public, anon;
grant execute on function public.mark_notifications_seen(bigint) to authenticated;
