-- kpi_me_period: kpi_me for a named period (day, week, month, quarter, year) around the member's
-- local today, or a custom range, resolved in the member's time zone (their profile's) in the
-- same round trip, so that kpi-me need not know the member's today before asking.

create or replace function public.kpi_me_period(
  p_period text,
  p_user_id uuid default null,
  p_from date default null,
  p_to date default null)
returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  member uuid := coalesce(p_user_id, (select auth.uid()));
  today date := (select (now() at time zone coalesce(p.time_zone, 'UTC'))::date
                   from (select 1) one left join public.profiles p on p.id = member);
  unit text;
  period_length interval;
begin
  if p_period = 'custom' then
    if p_from is null or p_to is null or p_from > p_to or p_to - p_from > 366 then
      raise exception 'a custom period needs from <= to, at most 366 days apart'
        using errcode = 'invalid_parameter_value';
    end if;
    return public.kpi_me(p_from, p_to, member);
  end if;
  if p_from is not null or p_to is not null then
    raise exception 'from and to are for a custom period only' using errcode = 'invalid_parameter_value';
  end if;
  select u.unit, u.length into unit, period_length
    from (values ('day', interval '1 day'), ('week', interval '7 days'), ('month', interval '1 month'),
                 ('quarter', interval '3 months'), ('year', interval '1 year')) u(unit, length)
   where u.unit = p_period;
  if unit is null then
    raise exception 'the period is day, week, month, quarter, year or custom'
      using errcode = 'invalid_parameter_value';
  end if;
  -- date_trunc('week') starts on Monday (ISO), like the goal engine's weeks.
  return public.kpi_me(date_trunc(unit, today)::date,
                       (date_trunc(unit, today) + period_length)::date - 1, member);
end
$$;
comment on function public.kpi_me_period(text, uuid, date, date) is
  'kpi_me for the member''s (default: the caller''s) current day, week, month, quarter or year in their profile''s time zone, or for the custom range p_from..p_to (at most 366 days). 22023 on a bad period.';
revoke execute on function public.kpi_me_period(text, uuid, date, date) from public, anon;
grant execute on function public.kpi_me_period(text, uuid, date, date) to authenticated;
