-- Annotations: notes on a member's day or activity, by the member or by a manager coaching them.

-- ## Table
create table public.annotations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  author_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  activity_id uuid references public.activities (id) on delete cascade,
  on_date date not null,
  body text not null check (length(btrim(body)) between 1 and 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.annotations is 'Notes on a member''s day or activity, by the member or their manager.';
comment on column public.annotations.id is 'Identifier.';
comment on column public.annotations.user_id is 'The member the note is about.';
comment on column public.annotations.org_id is 'That member''s organization, set by the database.';
comment on column public.annotations.author_id is 'Who wrote it (the caller by default).';
comment on column public.annotations.activity_id is 'The activity annotated, if any.';
comment on column public.annotations.on_date is 'The day annotated.';
comment on column public.annotations.body is 'The note, plain text.';
comment on column public.annotations.created_at is 'When it was written.';
comment on column public.annotations.updated_at is 'When it last changed.';
alter table public.annotations enable row level security;
create index annotations_user_id_on_date_idx on public.annotations (user_id, on_date);
create index annotations_author_id_idx on public.annotations (author_id);
create index annotations_org_id_idx on public.annotations (org_id);
create index annotations_activity_id_idx on public.annotations (activity_id);
create trigger annotations_set_member_org before insert or update on public.annotations
  for each row execute function private.set_member_org();
create trigger annotations_touch_updated_at before update on public.annotations
  for each row execute function private.touch_updated_at();

-- An annotated activity belongs to the annotated member.
create or replace function private.check_annotation_activity() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.activity_id is not null and not exists (
    select 1 from public.activities where id = new.activity_id and user_id = new.user_id
  ) then
    raise exception 'activity % is not one of user %''s', new.activity_id, new.user_id
      using errcode = 'foreign_key_violation';
  end if;
  if new.author_id is distinct from old.author_id and tg_op = 'UPDATE' then
    raise exception 'the author of an annotation never changes' using errcode = 'check_violation';
  end if;
  return new;
end
$$;
comment on function private.check_annotation_activity() is
  'Trigger: an annotation''s activity is the annotated member''s; its author never changes.';
create trigger annotations_check_activity before insert or update on public.annotations
  for each row execute function private.check_annotation_activity();

-- ## Policies
create policy "members read notes about them, by them, or about members they manage" on public.annotations
  for select to authenticated
  using (
    org_id in (select private.active_org_ids())
    and (user_id = (select auth.uid()) or author_id = (select auth.uid())
         or user_id in (select private.managed_user_ids()))
  );
create policy "members annotate themselves and members they manage" on public.annotations
  for insert to authenticated
  with check (
    author_id = (select auth.uid())
    and org_id in (select private.active_org_ids())
    and (user_id = (select auth.uid()) or user_id in (select private.managed_user_ids()))
  );
create policy "authors edit their notes" on public.annotations
  for update to authenticated
  using (author_id = (select auth.uid()) and org_id in (select private.active_org_ids()))
  with check (author_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
create policy "authors delete their notes" on public.annotations
  for delete to authenticated
  using (author_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
select private.add_write_guards('public.annotations');
