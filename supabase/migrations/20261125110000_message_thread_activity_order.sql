-- A thread's last activity orders the thread list: every thread has one (its first message, or
-- its creation while it has none), so the list pages by (last_message_at, id) through one index
-- per side of the thread (scanned backward) without NULLs to place.

update public.message_threads set last_message_at = created_at where last_message_at is null;

create or replace function private.thread_activity_from_creation() returns trigger
language plpgsql set search_path = ''
as $$
begin
  new.last_message_at := coalesce(new.last_message_at, new.created_at);
  return new;
end
$$;
comment on function private.thread_activity_from_creation() is
  'Trigger: a new thread''s last activity is its creation until a message arrives.';
create trigger message_threads_activity_from_creation before insert on public.message_threads
  for each row execute function private.thread_activity_from_creation();
alter table public.message_threads alter column last_message_at set not null;
comment on column public.message_threads.last_message_at is
  'When the last message was sent, or when the thread started while it has none (orders the thread list).';

-- The policies filter on started_by and participant_id; the list walks each side newest first.
drop index public.message_threads_started_by_idx;
drop index public.message_threads_participant_id_idx;
create index message_threads_started_by_activity_idx
  on public.message_threads (started_by, last_message_at, id);
create index message_threads_participant_id_activity_idx
  on public.message_threads (participant_id, last_message_at, id);

-- A thread page walks its messages newest first with the id as the tie-break.
drop index public.messages_thread_id_created_at_idx;
create index messages_thread_id_created_at_id_idx
  on public.messages (thread_id, created_at, id);
