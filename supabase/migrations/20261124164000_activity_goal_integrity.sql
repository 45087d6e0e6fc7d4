-- An activity may name the goal it counts towards; that goal must be its owner's and the day
-- must fall in the goal's period. Foreign keys bypass RLS, so without this check a member could
-- attach an activity to another member's goal (and learn that the goal exists).

create or replace function private.check_activity_goal() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if new.goal_id is null then
    return new;
  end if;
  if not exists (
    select 1 from public.goals g
     where g.id = new.goal_id and g.user_id = new.user_id
       and new.occurred_on between g.period_start and g.period_end
  ) then
    raise exception 'goal % is not one of user %''s goals covering %', new.goal_id, new.user_id, new.occurred_on
      using errcode = 'foreign_key_violation';
  end if;
  return new;
end
$$;
comment on function private.check_activity_goal() is
  'Trigger: an activity''s goal is its owner''s and its period covers the activity''s day.';

-- Named to fire after activities_set_member_org (triggers fire in name order).
create trigger activities_verify_goal before insert or update of goal_id, occurred_on, user_id
  on public.activities
  for each row execute function private.check_activity_goal();
