-- Editing an activity and annotating the edit in one transaction: the change and its note are
-- written together or not at all. Runs with the caller's rights, so RLS decides: only the owner
-- edits; someone who may read the activity but not edit it (a manager) gets 42501, not silence.

create or replace function public.edit_activity(p_id uuid, p_changes jsonb, p_annotation text default null)
returns jsonb
language plpgsql volatile security invoker set search_path = ''
as $$
declare
  edited public.activities;
  note public.annotations;
begin
  if jsonb_typeof(p_changes) is distinct from 'object' then
    raise exception 'the changes must be a JSON object' using errcode = 'invalid_parameter_value';
  end if;
  update public.activities a
     set type = coalesce((p_changes ->> 'type')::public.activity_type, a.type),
         stage_key = case when p_changes ? 'stage_key' then p_changes ->> 'stage_key' else a.stage_key end,
         occurred_on = coalesce((p_changes ->> 'occurred_on')::date, a.occurred_on),
         quantity = coalesce((p_changes ->> 'quantity')::integer, a.quantity),
         value_cents = case when p_changes ? 'value_cents' then (p_changes ->> 'value_cents')::bigint
                            else a.value_cents end,
         note = coalesce(p_changes ->> 'note', a.note),
         goal_id = case when p_changes ? 'goal_id' then (p_changes ->> 'goal_id')::uuid else a.goal_id end
   where a.id = p_id
  returning a.* into edited;
  if edited.id is null then
    if exists (select 1 from public.activities where id = p_id) then
      raise exception 'only its owner may edit activity %', p_id using errcode = 'insufficient_privilege';
    end if;
    return null;
  end if;
  if p_annotation is not null then
    insert into public.annotations (user_id, activity_id, on_date, body)
    values (edited.user_id, edited.id, edited.occurred_on, p_annotation)
    returning * into note;
  end if;
  return jsonb_build_object(
    'activity', to_jsonb(edited),
    'annotation', case when note.id is not null then to_jsonb(note) end);
end
$$;
comment on function public.edit_activity(uuid, jsonb, text) is
  'Changes the caller''s activity (keys of p_changes: type, stage_key, occurred_on, quantity, value_cents, note, goal_id) and, with p_annotation, annotates it, in one transaction. Null when no such activity is visible; 42501 when it is visible but not the caller''s.';
revoke execute on function public.edit_activity(uuid, jsonb, text) from public, anon;
grant execute on function public.edit_activity(uuid, jsonb, text) to authenticated;
