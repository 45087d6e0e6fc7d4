-- Activities: what a member did on a day (calls, appointments, deals, referrals, custom stages),
-- and their edit history, written by trigger so that retroactive edits keep who changed what.

-- ## Activities
create table public.activities (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  goal_id uuid references public.goals (id) on delete set null,
  type public.activity_type not null,
  stage_key text check (stage_key ~ '^[a-z][a-z0-9_]{0,62}$'),
  occurred_on date not null,
  quantity integer not null default 1 check (quantity between 1 and 10000),
  value_cents bigint check (value_cents >= 0),
  note text not null default '' check (length(note) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint custom_activities_name_their_stage check ((type = 'custom') = (stage_key is not null)),
  constraint occurred_on_is_plausible check (occurred_on between date '2000-01-01' and date '2100-12-31')
);
comment on table public.activities is 'Logged activities: what a member did on a day, counted per type.';
comment on column public.activities.id is 'Identifier.';
comment on column public.activities.user_id is 'Who did it (the caller by default).';
comment on column public.activities.org_id is 'The owner''s organization, set by the database.';
comment on column public.activities.goal_id is 'The goal it counts towards, if recorded.';
comment on column public.activities.type is 'call, appointment, deal, referral or custom.';
comment on column public.activities.stage_key is 'For custom activities: the SIM stage key they count for.';
comment on column public.activities.occurred_on is 'The day it happened, in the member''s time zone; may be back-dated.';
comment on column public.activities.quantity is 'How many (e.g. 12 calls).';
comment on column public.activities.value_cents is 'Deal value in cents, for deals.';
comment on column public.activities.note is 'Free text.';
comment on column public.activities.created_at is 'When it was logged.';
comment on column public.activities.updated_at is 'When it last changed.';
alter table public.activities enable row level security;
create index activities_user_id_occurred_on_idx on public.activities (user_id, occurred_on);
create index activities_org_id_occurred_on_idx on public.activities (org_id, occurred_on);
create index activities_goal_id_idx on public.activities (goal_id);
create trigger activities_set_member_org before insert or update on public.activities
  for each row execute function private.set_member_org();
create trigger activities_touch_updated_at before update on public.activities
  for each row execute function private.touch_updated_at();

-- ## Edit history
create table public.activity_history (
  id bigint generated always as identity primary key,
  activity_id uuid not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  operation text not null check (operation in ('insert', 'update', 'delete')),
  changed_by uuid,
  impersonator uuid,
  changed_by_role text not null,
  changed_at timestamptz not null default now(),
  before jsonb,
  after jsonb
);
comment on table public.activity_history is
  'Every insert, update and delete of an activity: who, when, the row before and after. Written by trigger only.';
comment on column public.activity_history.id is 'Order of the changes.';
comment on column public.activity_history.activity_id is 'The activity (kept after it is deleted).';
comment on column public.activity_history.user_id is 'The activity''s owner.';
comment on column public.activity_history.org_id is 'The activity''s organization.';
comment on column public.activity_history.operation is 'insert, update or delete.';
comment on column public.activity_history.changed_by is 'The user whose JWT made the change; null for direct SQL.';
comment on column public.activity_history.impersonator is 'The impersonating platform admin, if any.';
comment on column public.activity_history.changed_by_role is 'The database role that made the change (authenticated, service_role, postgres…).';
comment on column public.activity_history.changed_at is 'When.';
comment on column public.activity_history.before is 'The row before (null for insert).';
comment on column public.activity_history.after is 'The row after (null for delete).';
alter table public.activity_history enable row level security;
create index activity_history_activity_id_idx on public.activity_history (activity_id);
create index activity_history_user_id_idx on public.activity_history (user_id);
create index activity_history_org_id_idx on public.activity_history (org_id);
revoke insert, update, delete, truncate on public.activity_history from anon, authenticated;

-- Inside a security-definer trigger current_user is the owner; the API role is in the `role`
-- setting that PostgREST sets (and SET ROLE changes), else the session's login.
create or replace function private.caller_role() returns text
language sql stable set search_path = ''
as $$
  select coalesce(nullif(current_setting('role'), 'none'), session_user::text)
$$;
comment on function private.caller_role() is 'The database role the caller acts as (authenticated, service_role, postgres…).';

create or replace function private.record_activity_change() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  subject public.activities := coalesce(new, old);
begin
  insert into public.activity_history
    (activity_id, user_id, org_id, operation, changed_by, impersonator, changed_by_role, before, after)
  values (subject.id, subject.user_id, subject.org_id, lower(tg_op), auth.uid(), private.impersonator(),
          private.caller_role(),
          case when tg_op <> 'INSERT' then to_jsonb(old) end,
          case when tg_op <> 'DELETE' then to_jsonb(new) end);
  return null;
end
$$;
comment on function private.record_activity_change() is
  'Trigger: appends the change of an activity to activity_history.';
create trigger activities_record_change after insert or update or delete on public.activities
  for each row execute function private.record_activity_change();

-- ## Policies: activities (managers read; only the owner writes)
create policy "members read their activities and those of members they manage" on public.activities
  for select to authenticated
  using (
    org_id in (select private.active_org_ids())
    and (user_id = (select auth.uid()) or user_id in (select private.managed_user_ids()))
  );
create policy "members log their own activities" on public.activities
  for insert to authenticated
  with check (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
create policy "members edit their own activities" on public.activities
  for update to authenticated
  using (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()))
  with check (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
create policy "members delete their own activities" on public.activities
  for delete to authenticated
  using (user_id = (select auth.uid()) and org_id in (select private.active_org_ids()));
select private.add_write_guards('public.activities');

-- ## Policies: history (read like the activities; nobody writes it through the API)
create policy "members read the history of activities they may read" on public.activity_history
  for select to authenticated
  using (
    org_id in (select private.active_org_ids())
    and (user_id = (select auth.uid()) or user_id in (select private.managed_user_ids()))
  );
