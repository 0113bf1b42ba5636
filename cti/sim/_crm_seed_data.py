"""The CRM seed's fixed vocabulary: catalog, complements, names, cities, phone ranges. Data only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, NamedTuple

from cti.crm import MINOR_PER_MAJOR, ComplementRecord, ProductRecord, PromotionRecord

__all__ = [
    "AGENTS",
    "CARRIERS",
    "CASE_SUBJECTS",
    "CITIES",
    "COMPLEMENTS",
    "ENGLISH_FAMILY",
    "ENGLISH_GIVEN",
    "FOREIGN_MOBILES",
    "INDONESIAN_FAMILY",
    "INDONESIAN_GIVEN",
    "INDONESIAN_MONONYMS",
    "MOBILE_PREFIXES",
    "MONTHLY_CATEGORIES",
    "NOTES",
    "PRODUCTS",
    "REGIONAL_NAMES",
    "STREETS",
    "City",
    "promotions",
    "rupiah",
]


def rupiah(amount: int) -> int:
    """Whole rupiah as minor units."""
    return amount * MINOR_PER_MAJOR


def _product(sku: str, name_id: str, name_en: str, category: str, price: int) -> ProductRecord:
    return ProductRecord(sku=sku, name_id=name_id, name_en=name_en, category=category, price_minor=rupiah(price))


# A telecom operator that also sells devices online. Monthly categories are billed every month.
PRODUCTS: Final = (
    _product("PLAN-M", "Paket Pascabayar 25 GB", "Postpaid plan 25 GB", "plan", 150_000),
    _product("PLAN-L", "Paket Pascabayar 60 GB", "Postpaid plan 60 GB", "plan", 250_000),
    _product("PLAN-XL", "Paket Pascabayar Tanpa Batas", "Unlimited postpaid plan", "plan", 400_000),
    _product("DATA-10", "Kuota Tambahan 10 GB", "Extra data 10 GB", "addon", 50_000),
    _product("ROAM-ASIA", "Paket Roaming Asia", "Asia roaming pack", "addon", 120_000),
    _product("FIBER-50", "Internet Rumah 50 Mbps", "Home fibre 50 Mbps", "home", 350_000),
    _product("FIBER-100", "Internet Rumah 100 Mbps", "Home fibre 100 Mbps", "home", 500_000),
    _product("TV-BASIC", "TV Kabel Dasar", "Basic cable TV", "home", 100_000),
    _product("PHONE-X1", "Ponsel Nusa X1", "Nusa X1 smartphone", "device", 3_499_000),
    _product("PHONE-X1PRO", "Ponsel Nusa X1 Pro", "Nusa X1 Pro smartphone", "device", 7_999_000),
    _product("ROUTER-MESH", "Router Mesh Wi-Fi 6", "Wi-Fi 6 mesh router", "device", 1_299_000),
    _product("CASE-X1", "Casing Nusa X1", "Nusa X1 case", "accessory", 149_000),
    _product("CHRG-65W", "Pengisi Daya Cepat 65 W", "65 W fast charger", "accessory", 299_000),
    _product("BUDS-2", "Earbud Nirkabel Nusa Buds 2", "Nusa Buds 2 wireless earbuds", "accessory", 899_000),
    _product("PBANK-20K", "Power Bank 20.000 mAh", "20,000 mAh power bank", "accessory", 399_000),
    _product("PROT-DEV", "Proteksi Perangkat", "Device protection", "addon", 49_000),
)
MONTHLY_CATEGORIES: Final = frozenset({"plan", "addon", "home"})

COMPLEMENTS: Final = tuple(
    ComplementRecord(sku, complement, weight)
    for sku, complement, weight in (
        ("PHONE-X1", "CASE-X1", 0.9),
        ("PHONE-X1", "PROT-DEV", 0.7),
        ("PHONE-X1", "CHRG-65W", 0.6),
        ("PHONE-X1", "BUDS-2", 0.4),
        ("PHONE-X1PRO", "PROT-DEV", 0.8),
        ("PHONE-X1PRO", "CHRG-65W", 0.6),
        ("PHONE-X1PRO", "BUDS-2", 0.5),
        ("PHONE-X1PRO", "PBANK-20K", 0.3),
        ("PLAN-M", "DATA-10", 0.8),
        ("PLAN-M", "PHONE-X1", 0.3),
        ("PLAN-L", "ROAM-ASIA", 0.4),
        ("PLAN-L", "PHONE-X1PRO", 0.3),
        ("PLAN-XL", "ROAM-ASIA", 0.6),
        ("PLAN-XL", "PHONE-X1PRO", 0.4),
        ("FIBER-50", "ROUTER-MESH", 0.7),
        ("FIBER-50", "TV-BASIC", 0.5),
        ("FIBER-50", "FIBER-100", 0.3),
        ("FIBER-100", "ROUTER-MESH", 0.8),
        ("FIBER-100", "TV-BASIC", 0.5),
        ("CHRG-65W", "PBANK-20K", 0.3),
    )
)


class City(NamedTuple):
    name: str
    region: str
    """The routing geography's region for the area code."""
    area_code: str
    subscriber_digits: int
    weight: int
    province: str
    postal: tuple[int, int]
    """The range of the city's postal codes (five digits)."""
    districts: tuple[str, ...]
    """Kecamatan (districts) an address names."""


CITIES: Final = (
    City("Jakarta", "jakarta", "21", 8, 35, "DKI Jakarta", (10110, 14450),
         ("Menteng", "Tanah Abang", "Kebayoran Baru", "Cempaka Putih", "Kelapa Gading", "Cengkareng", "Tebet",
          "Pasar Minggu", "Cilandak", "Duren Sawit")),
    City("Bandung", "bandung", "22", 7, 14, "Jawa Barat", (40111, 40295),
         ("Coblong", "Sukajadi", "Cicendo", "Lengkong", "Buahbatu", "Antapani")),
    City("Surabaya", "surabaya", "31", 7, 15, "Jawa Timur", (60111, 60299),
         ("Genteng", "Tegalsari", "Gubeng", "Wonokromo", "Rungkut", "Sukolilo")),
    City("Medan", "medan", "61", 7, 12, "Sumatera Utara", (20111, 20371),
         ("Medan Baru", "Medan Petisah", "Medan Johor", "Medan Sunggal", "Medan Helvetia")),
    City("Denpasar", "denpasar", "361", 6, 12, "Bali", (80111, 80239),
         ("Denpasar Barat", "Denpasar Timur", "Denpasar Selatan", "Denpasar Utara")),
    City("Makassar", "makassar", "411", 6, 12, "Sulawesi Selatan", (90111, 90245),
         ("Panakkukang", "Tamalate", "Rappocini", "Mariso", "Ujung Pandang")),
    City("Semarang", "semarang", "24", 7, 8, "Jawa Tengah", (50131, 50278),
         ("Semarang Tengah", "Candisari", "Banyumanik", "Tembalang", "Pedurungan")),
    City("Yogyakarta", "yogyakarta", "274", 6, 6, "DI Yogyakarta", (55111, 55283),
         ("Gondokusuman", "Umbulharjo", "Jetis", "Kotagede", "Mergangsan")),
    City("Malang", "malang", "341", 6, 5, "Jawa Timur", (65111, 65149),
         ("Klojen", "Lowokwaru", "Blimbing", "Sukun")),
    City("Palembang", "palembang", "711", 6, 6, "Sumatera Selatan", (30111, 30165),
         ("Ilir Timur I", "Ilir Barat I", "Seberang Ulu I", "Sukarami")),
    City("Pekanbaru", "pekanbaru", "761", 6, 4, "Riau", (28111, 28294),
         ("Sukajadi", "Marpoyan Damai", "Tampan", "Bukit Raya")),
    City("Balikpapan", "balikpapan", "542", 6, 4, "Kalimantan Timur", (76111, 76136),
         ("Balikpapan Kota", "Balikpapan Selatan", "Balikpapan Utara")),
    City("Pontianak", "pontianak", "561", 6, 3, "Kalimantan Barat", (78111, 78244),
         ("Pontianak Kota", "Pontianak Selatan", "Pontianak Barat")),
    City("Manado", "manado", "431", 6, 3, "Sulawesi Utara", (95111, 95259),
         ("Wenang", "Sario", "Malalayang", "Tikala")),
    City("Jayapura", "jayapura", "967", 6, 2, "Papua", (99111, 99225),
         ("Jayapura Utara", "Jayapura Selatan", "Abepura")),
)

# Operators' 08xx ranges (Telkomsel, Indosat, XL, Axis, Tri, Smartfren), each followed by 8 digits.
MOBILE_PREFIXES: Final = (
    "811", "812", "813", "821", "822", "823", "852", "853", "814", "815", "816", "855", "856", "857", "858",
    "817", "818", "819", "859", "877", "878", "831", "832", "838", "895", "896", "897", "898", "881", "882",
)  # fmt: skip

# Expats' home mobiles: country code, leading digits, digits after them.
FOREIGN_MOBILES: Final = (("61", "4", 8), ("65", "9", 7), ("65", "8", 7), ("44", "7", 9))

STREETS: Final = (
    "Jl. Merdeka", "Jl. Jend. Sudirman", "Jl. Gatot Subroto", "Jl. Diponegoro", "Jl. Ahmad Yani", "Jl. Pahlawan",
    "Jl. Gajah Mada", "Jl. Hayam Wuruk", "Jl. Imam Bonjol", "Jl. Teuku Umar", "Jl. Veteran", "Jl. Pemuda",
    "Jl. Kartini", "Jl. Cendana", "Jl. Melati", "Jl. Kenanga", "Jl. Mawar", "Jl. Flamboyan",
)  # fmt: skip

INDONESIAN_GIVEN: Final = (
    "Agus", "Ahmad", "Bambang", "Budi", "Dedi", "Dewi", "Dian", "Eko", "Fajar", "Fitri", "Hendra", "Indah",
    "Intan", "Joko", "Kartika", "Nur", "Putri", "Rahmat", "Ratna", "Rina", "Rizky", "Sari", "Siti", "Sri",
    "Taufik", "Tri", "Wahyu", "Yanti", "Yusuf", "Maria", "Yohanes", "Muhammad", "Nurul", "Aditya", "Bayu",
    "Citra", "Galih", "Hana", "Irfan", "Lina", "Mega", "Novi", "Asep", "Ujang", "Cecep", "Euis",
)  # fmt: skip
INDONESIAN_FAMILY: Final = (
    "Santoso", "Wijaya", "Saputra", "Hidayat", "Pratama", "Kusuma", "Nugroho", "Setiawan", "Gunawan", "Halim",
    "Wibowo", "Rahmawati", "Susanti", "Handayani", "Permata", "Utomo", "Purnomo", "Mahendra", "Lestari",
    "Kurniawan", "Firmansyah", "Hakim", "Syahputra", "Ramadhan", "Suryana", "Hermawan",
)  # fmt: skip
# Names that place a person: Balinese birth-order names, Batak clans, Bugis titles and names, Minahasan and Papuan
# family names.
REGIONAL_NAMES: Final = {
    "denpasar": (
        ("Made", "Putu", "Wayan", "Nyoman", "Ketut", "Gede", "Komang", "Kadek", "Ayu"),
        ("Suardana", "Wirawan", "Adnyana", "Sudarsana", "Artini", "Sukerti", "Astawa", "Wiguna"),
    ),
    "medan": (
        ("Rudi", "Samuel", "Friska", "Roy", "Lamhot", "Tiurma", "Benny", "Rina"),
        ("Siregar", "Nasution", "Lubis", "Harahap", "Simanjuntak", "Sihombing", "Hutapea", "Hasibuan", "Sinaga",
         "Pangaribuan"),
    ),
    "makassar": (
        ("Andi", "Muhammad", "Nurul", "Syamsul", "Ardi", "Hasnah", "Sitti"),
        ("Daeng", "Hasanuddin", "Rahman", "Mappaseng", "Syamsuddin", "Pallawa"),
    ),
    "manado": (
        ("Jeffry", "Meiske", "Stevanus", "Olivia", "Ferdy", "Grace", "Vicky"),
        ("Sondakh", "Lumentut", "Rumengan", "Pangemanan", "Wowor", "Mandagi", "Tumbelaka"),
    ),
    "jayapura": (
        ("Yonas", "Marthen", "Yuliana", "Elisabeth", "Frans", "Naomi", "Benny"),
        ("Rumbiak", "Mandowen", "Kogoya", "Wenda", "Ayomi", "Sawaki"),
    ),
}
INDONESIAN_MONONYMS: Final = ("Sukarni", "Suharti", "Mulyono", "Sutrisno", "Wagiman", "Sumarni", "Paijo", "Slamet")
ENGLISH_GIVEN: Final = (
    "Oliver", "Charlotte", "Jack", "Amelia", "Thomas", "Sophie", "Daniel", "Emily", "Liam", "Grace", "Ethan",
    "Chloe", "Wei Ming", "Hui Shan", "Rajesh", "Priya",
)  # fmt: skip
ENGLISH_FAMILY: Final = (
    "Smith", "Jones", "Taylor", "Brown", "Wilson", "Thompson", "Walker", "Harris", "Clarke", "Evans", "Tan", "Lim",
    "Ng", "Kumar",
)  # fmt: skip

CARRIERS: Final = ("JNE", "J&T Express", "SiCepat", "Pos Indonesia", "AnterAja")
AGENTS: Final = tuple(f"a-{n}" for n in range(101, 113))

# Contact notes and case subjects by reason: (Indonesian, English).
NOTES: Final = {
    "billing": ("Menanyakan rincian tagihan.", "Asked about the bill's details."),
    "technical": ("Gangguan koneksi data; pengaturan APN dikirim ulang.", "Data connection down; APN settings resent."),
    "order_status": ("Menanyakan status pengiriman pesanan.", "Asked where the order is."),
    "plan_change": ("Ingin pindah paket.", "Wants to change plan."),
    "complaint": ("Keluhan sinyal lemah di rumah.", "Complained about weak signal at home."),
    "sales_inquiry": ("Tanya promo ponsel terbaru.", "Asked about the latest phone offers."),
}
CASE_SUBJECTS: Final = {
    "technical": ("Sinyal hilang di area rumah", "No signal around the home"),
    "billing": ("Tagihan tidak sesuai pemakaian", "Bill does not match usage"),
    "complaint": ("Teknisi tidak datang sesuai jadwal", "Technician missed the appointment"),
}


def promotions(now: datetime) -> tuple[PromotionRecord, ...]:
    """Three running at ``now``, one over, one to come."""

    def promotion(promotion_id: str, sku: str | None, category: str | None, segment: str | None, start: int,
                  end: int, boost: float, text_id: str, text_en: str) -> PromotionRecord:
        return PromotionRecord(promotion_id=promotion_id, sku=sku, category=category, segment=segment,
                               starts_at=now + timedelta(days=start), ends_at=now + timedelta(days=end), boost=boost,
                               text_id=text_id, text_en=text_en)

    return (
        promotion("PROMO-CHRG", "CHRG-65W", None, None, -10, 20, 1.5,
                  "Diskon 30% pengisi daya cepat 65 W", "30% off the 65 W fast charger"),
        promotion("PROMO-FIBER-FAM", "FIBER-100", None, "family", -5, 25, 2.0,
                  "Upgrade ke 100 Mbps, gratis 2 bulan pertama", "Upgrade to 100 Mbps, first 2 months free"),
        promotion("PROMO-ACC-YOUTH", None, "accessory", "youth", -3, 11, 1.3,
                  "Aksesori diskon 20% untuk pelajar", "20% off accessories for students"),
        promotion("PROMO-ROAM-OLD", "ROAM-ASIA", None, None, -60, -30, 1.4,
                  "Roaming Asia setengah harga", "Half-price Asia roaming"),
        promotion("PROMO-X1PRO-SOON", "PHONE-X1PRO", None, None, 7, 37, 1.8,
                  "Pra-pesan Nusa X1 Pro, bonus earbud", "Pre-order the Nusa X1 Pro, earbuds included"),
    )
