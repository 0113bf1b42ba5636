"""Simulation, for the demo, the tests and the benchmarks (never part of serving calls): SIPp callers and agent
phones (:class:`SippCaller`, :class:`SippIvrCaller`, :class:`SippAgent`), demo CRM data (:func:`generate`),
``cti demo`` itself (:func:`run_demo`), and the machine's Redis that setup keeps (:func:`local_redis_url`).
"""

from cti.sim._crm_seed import (
    BANDUNG_YOUTH,
    BUDI_BIRTH_DATE,
    BUDI_PIN,
    ENGLISH_SPEAKER,
    FIXED_CUSTOMERS,
    JAKARTA_GOLD,
    JAMES_PIN,
    MAKASSAR_BUSINESS,
    MEDAN_NO_CONSENT,
    OPEN_ORDER_NUMBER,
    SITI_BIRTH_DATE,
    SURABAYA_OPEN_ORDER,
    generate,
)
from cti.sim._demo import run_demo
from cti.sim._redis import config_dir, local_redis_url
from cti.sim._sipp import (
    PSTN_HOST,
    SCENARIOS,
    Press,
    Say,
    SippAgent,
    SippCaller,
    SippError,
    SippIvrCaller,
    Step,
    Wait,
    free_udp_port,
    register,
    sipp_binary,
)

__all__ = [
    "BANDUNG_YOUTH",
    "BUDI_BIRTH_DATE",
    "BUDI_PIN",
    "ENGLISH_SPEAKER",
    "FIXED_CUSTOMERS",
    "JAKARTA_GOLD",
    "JAMES_PIN",
    "MAKASSAR_BUSINESS",
    "MEDAN_NO_CONSENT",
    "OPEN_ORDER_NUMBER",
    "PSTN_HOST",
    "SCENARIOS",
    "SITI_BIRTH_DATE",
    "SURABAYA_OPEN_ORDER",
    "Press",
    "Say",
    "SippAgent",
    "SippCaller",
    "SippError",
    "SippIvrCaller",
    "Step",
    "Wait",
    "config_dir",
    "free_udp_port",
    "generate",
    "local_redis_url",
    "register",
    "run_demo",
    "sipp_binary",
]
