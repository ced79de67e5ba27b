"""Every router the app mounts, one line per feature ("module:attribute").

Listed as strings so a feature's module is imported only by the app, never at package import.
"""

ROUTERS: list[str] = [
    "huiqi.web.api.core:router",  # /healthz, /api/v1/login, documents, rules, calc
    "huiqi.web.api.jobs:router",  # /api/v1/simulations, /api/v1/evaluations, /api/v1/jobs
    "huiqi.web.pages.core:router",  # 首页, 登录, 政策库, 责任清单, 目标清单
    "huiqi.web.pages.calculator:router",  # 政策计算器
    "huiqi.web.pages.calculator:api",  # /api/v1/profiles (saved profiles)
    "huiqi.web.pages.jobs:router",  # 预算测算, 亩均评价
    "huiqi.web.api.governance:router",  # 督办, 目标监测, 项目库, 月度调度通报 (JSON)
    "huiqi.web.pages.governance:router",  # 督办看板, 目标监测, 重点项目库, 月度调度通报
    "huiqi.web.api.workflow:router",  # 申报批次, 申报, 审核, 台账, 拨付, 免申即享, 站内消息 (issue 10)
    "huiqi.web.pages.workflow:router",  # 申报与拨付 pages (issue 10)
    "huiqi.web.pages.proactive:router",  # 免申即享: preview a population file, confirm as a round
]
