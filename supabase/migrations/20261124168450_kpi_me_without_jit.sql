-- kpi_me ran in about 20 ms on a generated 500-member organization but answered in 450 ms: the
-- planner took private.member_today for a set of 1 000 rows (a set-returning function's default),
-- priced the query above jit_above_cost and JIT-compiled 236 functions on every call (~440 ms).
-- member_today returns one row, so it says so; and the two KPI functions never JIT-compile: they
-- read one member's few rows through indexes, where compiling always costs more than it saves.

alter function private.member_today(uuid) rows 1;
alter function public.kpi_me(date, date, uuid) set jit = off;
alter function public.kpi_me_period(text, uuid, date, date) set jit = off;
