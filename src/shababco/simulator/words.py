"""Arabic and English word lists for realistic generated events."""

from __future__ import annotations

# (product type, English genre words, Arabic genre phrase) — product types are the categories.
CATEGORIES: list[tuple[str, list[str], list[str]]] = [
    (
        "Music",
        ["Jazz Night", "Oud Evening", "Symphony", "Indie Showcase", "Live Concert"],
        ["حفلة موسيقية", "أمسية العود", "ليلة الجاز", "حفل السيمفونية"],
    ),
    (
        "Comedy",
        ["Stand-up Night", "Comedy Club", "Improv Show"],
        ["ليلة الكوميديا", "عرض ستاند أب", "مسرح الضحك"],
    ),
    (
        "Theatre",
        ["Drama Premiere", "Musical", "Puppet Theatre"],
        ["عرض مسرحي", "مسرحية غنائية", "مسرح العرائس"],
    ),
    (
        "Sports",
        ["Football Derby", "Padel Open", "Marathon", "Esports Cup"],
        ["ديربي كرة القدم", "بطولة البادل", "ماراثون المدينة", "كأس الرياضات الإلكترونية"],
    ),
    (
        "Workshop",
        ["Calligraphy Workshop", "Coding Bootcamp", "Photography Walk"],
        ["ورشة الخط العربي", "معسكر البرمجة", "جولة التصوير"],
    ),
    (
        "Festival",
        ["Food Festival", "Film Festival", "Book Fair", "Winter Festival"],
        ["مهرجان الطعام", "مهرجان الأفلام", "معرض الكتاب", "مهرجان الشتاء"],
    ),
    (
        "Conference",
        ["Tech Summit", "Startup Forum", "Design Conference"],
        ["قمة التقنية", "ملتقى رواد الأعمال", "مؤتمر التصميم"],
    ),
    (
        "Family",
        ["Family Fun Day", "Science Show", "Kids Carnival"],
        ["يوم العائلة", "عرض العلوم", "كرنفال الأطفال"],
    ),
]

ENGLISH_ADJECTIVES = [
    "Midnight",
    "Grand",
    "Desert",
    "Summer",
    "Golden",
    "Electric",
    "Classic",
    "Open-Air",
    "Royal",
    "Neon",
    "Community",
    "Annual",
]

ARABIC_QUALIFIERS = [
    "الكبرى",
    "السنوية",
    "المفتوحة",
    "الذهبية",
    "الصيفية",
    "الدولية",
    "للشباب",
    "والفنون",
]

# Arabic words with diacritics (tashkeel) so that search has to ignore them.
ARABIC_WITH_DIACRITICS = ["حَفْلَة", "مَهْرَجَان", "أُمْسِيَة", "لَيْلَة"]

# (venue name, city, address, Arabic venue name, Arabic city)
VENUES: list[tuple[str, str, str, str, str]] = [
    (
        "King Fahd Cultural Centre",
        "Riyadh",
        "King Fahd Rd, Al Olaya",
        "مركز الملك فهد الثقافي",
        "الرياض",
    ),
    (
        "Boulevard Arena",
        "Riyadh",
        "Prince Turki Bin Abdulaziz Al Awwal Rd",
        "بوليفارد أرينا",
        "الرياض",
    ),
    ("Jeddah Superdome", "Jeddah", "Prince Sultan Rd, Al Muhammadiyah", "جدة سوبردوم", "جدة"),
    ("Hayy Jameel", "Jeddah", "Al Muhammadiyah District", "حي جميل", "جدة"),
    (
        "Ithra Theatre",
        "Dhahran",
        "King Abdulaziz Center for World Culture",
        "مسرح إثراء",
        "الظهران",
    ),
    ("Dammam Corniche Stage", "Dammam", "Corniche Rd", "مسرح كورنيش الدمام", "الدمام"),
    ("Maraya Hall", "AlUla", "Ashar Valley", "قاعة مرايا", "العلا"),
    ("Abha Art Street", "Abha", "Art Street, Al Manhal", "شارع الفن", "أبها"),
]

# (English ticket type, Arabic ticket type, machine type, features, restrictions)
TICKET_TYPES: list[tuple[str, str, str, list[str], str]] = [
    ("General Admission", "دخول عام", "general", ["Standing area"], ""),
    ("VIP", "كبار الشخصيات", "vip", ["Lounge access", "Fast-track entry", "Free parking"], "18+"),
    ("Early Bird", "الحجز المبكر", "early_bird", ["Discounted price"], "Non-refundable"),
    ("Student", "طالب", "student", ["Student discount"], "Valid student ID required"),
    ("Family Pack", "باقة العائلة", "family", ["Entry for 4", "Kids activities"], ""),
    ("Golden Circle", "الدائرة الذهبية", "golden_circle", ["Front row", "Meet & greet"], "16+"),
    ("Backstage Pass", "تصريح الكواليس", "backstage", ["Backstage tour", "Signed poster"], "18+"),
]

LOCATIONS: list[tuple[str, str, str]] = [
    ("Riyadh Box Office", "Olaya St 12", "Riyadh"),
    ("Jeddah Box Office", "Tahlia St 4", "Jeddah"),
    ("Online Fulfilment", "Digital Warehouse 1", "Riyadh"),
    ("Dammam Kiosk", "Corniche Mall", "Dammam"),
]

ENGLISH_SENTENCES = [
    "An unforgettable evening with the region's most exciting talent.",
    "Doors open one hour before the show; arrive early for the best spots.",
    "Food trucks, art installations and live performances all night long.",
    "Bring your friends and family for a celebration of culture and creativity.",
    "Limited capacity: secure your tickets before they sell out.",
]

ARABIC_SENTENCES = [
    "أمسية لا تُنسى مع أبرز المواهب في المنطقة.",
    "تُفتح الأبواب قبل العرض بساعة، احضر مبكراً لأفضل الأماكن.",
    "عربات الطعام والأعمال الفنية والعروض الحية طوال الليل.",
    "اصطحب أصدقاءك وعائلتك للاحتفال بالثقافة والإبداع.",
    "المقاعد محدودة، احجز تذكرتك قبل نفادها.",
]

TAGS_EN = ["family-friendly", "outdoor", "indoor", "weekend", "live", "limited", "new"]
TAGS_AR = ["عائلي", "في الهواء الطلق", "نهاية الأسبوع", "مباشر", "جديد"]

VENDORS = ["Shababco", "Riyadh Season", "Jeddah Events Co", "شبابكو"]
