-- The five representative measures written by hand as ONE DuckDB query (benchmark peer).
--
--   临海 二/十   技改补助: linhai.tech_upgrade.major / .ordinary / .key_2513 (同一项目就高; 普通技改单家企业年度200万元)
--   临海 二/十一 垂直工业: linhai.vertical.ab_class / .floors (同一项目就高; 单个项目最高100万元)
--   滨州 五/18   上市奖补: binzhou.ipo.listing (融资额分档)
--   滨州 三/8    DCMM:     binzhou.dcmm (评估费30%, 不超过10万元, 上限类)
--   十堰 三/三/1/—2 智能化改造: shiyan.tech_upgrade.smart / .smart_county (县市名额每县2家; 单个企业当年50万元)
--
-- Input: a view `population` in the contract's layout (docs/simulation-contract.md) plus `seq` (row order).
-- Output: one row per (rule, subject): id, project_id, rule, status, amount (integer yuan).
-- Simulation date 2022-09-01; 十堰 rules with the benchmark's validity extension (to 2023-12-31), so all
-- nine rules are in force. SQL three-valued logic is the rules' logic: FALSE = not eligible, NULL = cannot
-- decide. What a hand-writer leaves out (Huiqi's engine does it): the list of missing fields per undecided
-- row, explanations, name normalisation of places (省/市 suffixes), history-based stacking (no history here).
WITH p AS (
    SELECT *, seq = min(seq) OVER (PARTITION BY id) AS first_row FROM population
),
-- ------------------------------------------------------------------ 临海 二/十 (project rules)
lh AS (
    SELECT id, project_id, seq,
           (province = '浙江省' AND city = '台州市' AND county = '临海市') AS here,
           ("project.project_type" = '重大传统产业改造提升' AND "project.investment" >= 10000000
              AND "project.equipment_investment" >= 5000000) AS c1,
           round(CASE WHEN "project.equipment_investment" * 0.10 > 3000000 THEN 3000000
                      ELSE "project.equipment_investment" * 0.10 END) AS a1,   -- least() would skip a NULL
           ("project.project_type" IN ('普通技改', '重大传统产业改造提升')
              AND "project.equipment_investment" >= 2000000) AS c2,
           round("project.equipment_investment" * 0.05) AS a2,
           ("enterprise.is_2513" AND "enterprise.local_contribution_growth" >= 0.12
              AND "enterprise.industrial_equipment_investment" >= 5000000 AND "project.key_industrial_project") AS c3,
           round("project.equipment_investment" * 0.15) AS a3
    FROM p WHERE project_id IS NOT NULL
),
lh_s AS (
    SELECT *,
           CASE WHEN NOT here THEN 'out_of_jurisdiction' WHEN NOT c1 OR a1 <= 0 THEN 'not_eligible'
                WHEN here IS NULL OR c1 IS NULL OR a1 IS NULL THEN 'undecided' ELSE 'granted' END AS s1,
           CASE WHEN NOT here THEN 'out_of_jurisdiction' WHEN NOT c2 OR a2 <= 0 THEN 'not_eligible'
                WHEN here IS NULL OR c2 IS NULL OR a2 IS NULL THEN 'undecided' ELSE 'granted' END AS s2,
           CASE WHEN NOT here THEN 'out_of_jurisdiction' WHEN NOT c3 OR a3 <= 0 THEN 'not_eligible'
                WHEN here IS NULL OR c3 IS NULL OR a3 IS NULL THEN 'undecided' ELSE 'granted' END AS s3
    FROM lh
),
lh_w AS (   -- 同一项目就高 after caps (the 5% rule compared at most at its 200万元 ceiling), ties to the earlier rule
    SELECT *, CASE WHEN s1 = 'granted' AND (s2 <> 'granted' OR a1 >= least(a2, 2000000)) AND (s3 <> 'granted' OR a1 >= a3) THEN 1
                   WHEN s2 = 'granted' AND (s3 <> 'granted' OR least(a2, 2000000) >= a3) THEN 2
                   WHEN s3 = 'granted' THEN 3 END AS winner
    FROM lh_s
),
lh_c AS (   -- 普通技改 单家企业最高200万元 (enterprise-year cap, in project order)
    SELECT *, sum(CASE WHEN winner = 2 THEN a2 ELSE 0 END) OVER (PARTITION BY id ORDER BY seq
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum2
    FROM lh_w
),
lh_out AS (
    SELECT id, project_id, 'linhai.tech_upgrade.major' AS rule,
           CASE WHEN s1 = 'granted' AND winner <> 1 THEN 'stacked_out' ELSE s1 END AS status,
           CASE WHEN s1 = 'granted' AND winner = 1 THEN a1 END AS amount FROM lh_c
    UNION ALL
    SELECT id, project_id, 'linhai.tech_upgrade.ordinary',
           CASE WHEN s2 = 'granted' AND winner <> 2 THEN 'stacked_out'
                WHEN s2 = 'granted' AND least(cum2, 2000000) - least(cum2 - a2, 2000000) <= 0 THEN 'stacked_out'
                ELSE s2 END,
           CASE WHEN s2 = 'granted' AND winner = 2 AND least(cum2, 2000000) - least(cum2 - a2, 2000000) > 0
                THEN least(cum2, 2000000) - least(cum2 - a2, 2000000) END FROM lh_c
    UNION ALL
    SELECT id, project_id, 'linhai.tech_upgrade.key_2513',
           CASE WHEN s3 = 'granted' AND winner <> 3 THEN 'stacked_out' ELSE s3 END,
           CASE WHEN s3 = 'granted' AND winner = 3 THEN a3 END FROM lh_c
),
-- ------------------------------------------------------------------ 临海 二/十一 (project rules)
vt AS (
    SELECT id, project_id,
           (province = '浙江省' AND city = '台州市' AND county = '临海市') AS here,
           (("project.plot_ratio_increase" > 0.2 OR "project.zero_land_area_share" > 0.2)
              AND "project.self_owned_used" AND "enterprise.muju_class" IN ('A', 'B')) AS c1,
           "enterprise.muju_class" AS k1,
           CASE "enterprise.muju_class" WHEN 'A' THEN "project.vertical_excess_area" * 60
                                        WHEN 'B' THEN "project.vertical_excess_area" * 50 END AS r1,
           ("project.plot_ratio_increase" <= 0.2 AND "project.zero_land_area_share" <= 0.2
              AND "project.self_owned_used" AND "project.floors" >= 4) AS c2,
           "project.floors" AS f,
           CASE WHEN "project.floors" >= 6 THEN "project.new_factory_area" * 50
                WHEN "project.floors" >= 5 THEN "project.new_factory_area" * 40
                WHEN "project.floors" >= 4 THEN "project.new_factory_area" * 30 END AS r2
    FROM p WHERE project_id IS NOT NULL
),
vt_a AS (   -- 单个项目最高奖励100万元, then rounding to the yuan
    SELECT *, round(CASE WHEN r1 > 1000000 THEN 1000000 ELSE r1 END) AS a1,
              round(CASE WHEN r2 > 1000000 THEN 1000000 ELSE r2 END) AS a2
    FROM vt
),
vt_s AS (
    SELECT *,
           -- lookup: a key outside the table is "not eligible"; an unknown key is "undecided"
           CASE WHEN NOT here THEN 'out_of_jurisdiction'
                WHEN NOT c1 OR (k1 IS NOT NULL AND k1 NOT IN ('A', 'B')) OR a1 <= 0 THEN 'not_eligible'
                WHEN here IS NULL OR c1 IS NULL OR a1 IS NULL THEN 'undecided' ELSE 'granted' END AS s1,
           -- tiers: a value below every band is "not eligible"
           CASE WHEN NOT here THEN 'out_of_jurisdiction' WHEN NOT c2 OR f < 4 OR a2 <= 0 THEN 'not_eligible'
                WHEN here IS NULL OR c2 IS NULL OR a2 IS NULL THEN 'undecided' ELSE 'granted' END AS s2
    FROM vt_a
),
vt_out AS (
    SELECT id, project_id, 'linhai.vertical.ab_class' AS rule,
           CASE WHEN s1 = 'granted' AND s2 = 'granted' AND a2 > a1 THEN 'stacked_out' ELSE s1 END AS status,
           CASE WHEN s1 = 'granted' AND NOT (s2 = 'granted' AND a2 > a1) THEN a1 END AS amount FROM vt_s
    UNION ALL
    SELECT id, project_id, 'linhai.vertical.floors',
           CASE WHEN s2 = 'granted' AND s1 = 'granted' AND a1 >= a2 THEN 'stacked_out' ELSE s2 END,
           CASE WHEN s2 = 'granted' AND NOT (s1 = 'granted' AND a1 >= a2) THEN a2 END FROM vt_s
),
-- ------------------------------------------------------------------ 滨州 五/18 and 三/8 (enterprise rules)
bz AS (
    SELECT id,
           (province = '山东省' AND city = '滨州市') AS here,
           "enterprise.listed" AS c1,
           CASE WHEN "enterprise.ipo_financing" >= 2000000000 THEN 12000000
                WHEN "enterprise.ipo_financing" >= 1000000000 THEN 7000000
                WHEN "enterprise.ipo_financing" IS NOT NULL THEN 2000000 END AS a1,
           ("enterprise.dcmm_level" IN ('二级', '三级', '四级', '五级') AND "enterprise.dcmm_first_application") AS c2,
           round(CASE WHEN "enterprise.dcmm_assessment_fee" * 0.30 > 100000 THEN 100000
                      ELSE "enterprise.dcmm_assessment_fee" * 0.30 END) AS a2
    FROM p WHERE first_row
),
bz_out AS (
    SELECT id, NULL AS project_id, 'binzhou.ipo.listing' AS rule,
           CASE WHEN NOT here THEN 'out_of_jurisdiction' WHEN NOT c1 OR a1 <= 0 THEN 'not_eligible'
                WHEN here IS NULL OR c1 IS NULL OR a1 IS NULL THEN 'undecided' ELSE 'granted' END AS status,
           CASE WHEN here AND c1 AND a1 > 0 THEN a1 END AS amount FROM bz
    UNION ALL
    SELECT id, NULL, 'binzhou.dcmm',
           CASE WHEN NOT here THEN 'out_of_jurisdiction' WHEN NOT c2 OR a2 <= 0 THEN 'not_eligible'
                WHEN here IS NULL OR c2 IS NULL OR a2 IS NULL THEN 'undecided' ELSE 'granted' END,
           CASE WHEN here AND c2 AND a2 > 0 THEN a2 END FROM bz
),
-- ------------------------------------------------------------------ 十堰 三/三/1/—2 (project rules)
sy AS (
    SELECT id, project_id, seq, name, county,
           CASE WHEN province <> '湖北省' OR city <> '十堰市' THEN FALSE
                WHEN county IN ('郧阳区', '丹江口市', '郧西县', '竹山县', '竹溪县', '房县')
                  OR district IN ('郧阳区', '丹江口市', '郧西县', '竹山县', '竹溪县', '房县') THEN FALSE
                WHEN county IN ('张湾区', '茅箭区', '十堰经济技术开发区')
                  OR district IN ('张湾区', '茅箭区', '十堰经济技术开发区') THEN (province = '湖北省' AND city = '十堰市')
                WHEN district IS NULL THEN NULL ELSE FALSE END AS here1,
           CASE WHEN province <> '湖北省' OR city <> '十堰市' THEN FALSE
                WHEN county IN ('郧阳区', '丹江口市', '郧西县', '竹山县', '竹溪县', '房县')
                  OR district IN ('郧阳区', '丹江口市', '郧西县', '竹山县', '竹溪县', '房县')
                  THEN (province = '湖北省' AND city = '十堰市')
                WHEN district IS NULL THEN NULL ELSE FALSE END AS here2,
           ("project.fixed_asset_investment" >= 10000000 AND "project.within_construction_period"
              AND "project.equipment_investment" >= 2000000 AND "project.equipment_in_use"
              AND coalesce("project.case_by_case_supported", false) = false) AS c,
           "project.equipment_investment" AS eq,
           round(("project.smart_equipment_investment"
                  + ("project.equipment_investment" - "project.smart_equipment_investment") * 0.5) * 0.0435) AS a
    FROM p WHERE project_id IS NOT NULL
),
sy_q AS (   -- 各县市推荐两家: quota per county among applicants meeting every condition, largest investment first
    SELECT *, CASE WHEN here2 AND c AND eq IS NOT NULL AND county IS NOT NULL
                   THEN row_number() OVER (PARTITION BY here2 AND c AND eq IS NOT NULL AND county IS NOT NULL, county
                                           ORDER BY eq DESC, name, project_id) END AS place
    FROM sy
),
sy_s AS (
    SELECT *,
           CASE WHEN NOT here1 THEN 'out_of_jurisdiction' WHEN NOT c OR a <= 0 THEN 'not_eligible'
                WHEN here1 IS NULL OR c IS NULL OR a IS NULL THEN 'undecided' ELSE 'granted' END AS s1,
           CASE WHEN NOT here2 THEN 'out_of_jurisdiction' WHEN NOT c OR a <= 0 THEN 'not_eligible'
                WHEN here2 IS NULL OR c IS NULL OR a IS NULL THEN 'undecided'
                WHEN eq IS NULL OR county IS NULL THEN 'undecided'
                WHEN place > 2 THEN 'not_eligible' ELSE 'granted' END AS s2
    FROM sy_q
),
sy_c AS (   -- 单个企业当年补助总额不超过50万元, shared by both rules, in rule then project order
    SELECT *, sum(CASE WHEN s1 = 'granted' THEN a ELSE 0 END) OVER (PARTITION BY id ORDER BY seq
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum1,
              sum(CASE WHEN s1 = 'granted' THEN a ELSE 0 END) OVER (PARTITION BY id) AS tot1,
              sum(CASE WHEN s2 = 'granted' THEN a ELSE 0 END) OVER (PARTITION BY id ORDER BY seq
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum2
    FROM sy_s
),
sy_out AS (
    SELECT id, project_id, 'shiyan.tech_upgrade.smart' AS rule,
           CASE WHEN s1 = 'granted' AND least(cum1, 500000) - least(cum1 - a, 500000) <= 0 THEN 'stacked_out'
                ELSE s1 END AS status,
           CASE WHEN s1 = 'granted' AND least(cum1, 500000) - least(cum1 - a, 500000) > 0
                THEN least(cum1, 500000) - least(cum1 - a, 500000) END AS amount FROM sy_c
    UNION ALL
    SELECT id, project_id, 'shiyan.tech_upgrade.smart_county',
           CASE WHEN s2 = 'granted' AND least(tot1 + cum2, 500000) - least(tot1 + cum2 - a, 500000) <= 0
                THEN 'stacked_out' ELSE s2 END,
           CASE WHEN s2 = 'granted' AND least(tot1 + cum2, 500000) - least(tot1 + cum2 - a, 500000) > 0
                THEN least(tot1 + cum2, 500000) - least(tot1 + cum2 - a, 500000) END FROM sy_c
)
SELECT id, project_id, rule, status, CAST(amount AS BIGINT) AS amount FROM lh_out
UNION ALL SELECT id, project_id, rule, status, CAST(amount AS BIGINT) FROM vt_out
UNION ALL SELECT id, project_id, rule, status, CAST(amount AS BIGINT) FROM bz_out
UNION ALL SELECT id, project_id, rule, status, CAST(amount AS BIGINT) FROM sy_out
