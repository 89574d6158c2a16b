"""Realistic EU micro-credentials for demos, tests and benchmarks.

:func:`generate_credentials` yields any number of valid ``anchor-credential-v1`` credentials, deterministic
for a seed: eight awarding bodies (DE, FR, PL, FI, ES, PT, GR, IT), each with courses, grade scales and
learners named in the local language. Salts come from the seeded generator, not from
:func:`anchor.credentials.new_salt`, so that a run can be repeated: use them for demos and benchmarks only.

The institutions are fictional; their DIDs use the reserved ``.example`` domain.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from anchor.credentials import CONTEXTS, CREDENTIAL_TYPES, FORMAT_V1, Credential

__all__ = ["ISSUERS", "Course", "GradeScale", "Issuer", "generate_credentials", "issuer_for_country"]


@dataclass(frozen=True)
class GradeScale:
    """How an awarding body grades: an Open Badges ``ResultDescription`` and the grades it gives."""

    name: str
    result_type: str
    grades: tuple[str, ...]
    """Grades the generator awards (the better ones first, drawn with falling weights)."""
    allowed: bool = True
    """Whether ``grades`` is the closed list of allowed values (else ``value_min``/``value_max`` bound it)."""
    value_min: str | None = None
    value_max: str | None = None


@dataclass(frozen=True)
class Course:
    """A learning activity that leads to a micro-credential."""

    slug: str
    title: str
    description: str
    criteria: str
    outcomes: tuple[str, ...]
    ects: float
    hours: int
    eqf: int
    field_of_study: str
    isced: str
    participation: str
    assessment: tuple[str, ...]
    assessment_note: str
    supervision: str | None = None
    prerequisites: str | None = None
    stacks_towards: str | None = None
    valid_years: int | None = None
    nqf_level: str | None = None
    cycle: str | None = None


@dataclass(frozen=True)
class Issuer:
    """An awarding body and what it offers."""

    id: str
    name: str
    country_code: str
    country: str
    locality: str
    region: str
    language: str
    url: str
    nqf_framework: str
    qa_description: str
    qa_body: str
    grade_scale: GradeScale
    courses: tuple[Course, ...]
    given_names: tuple[str, ...]
    family_names: tuple[str, ...]


_DE = Issuer(
    id="did:web:credentials.th-mainfranken.example",
    name="Technische Hochschule Mainfranken",
    country_code="DE",
    country="Deutschland",
    locality="Würzburg",
    region="Bayern",
    language="de",
    url="https://www.th-mainfranken.example",
    nqf_framework="Deutscher Qualifikationsrahmen (DQR)",
    qa_description="Systemakkreditierte Hochschule; Modul im internen Qualitätsmanagement evaluiert",
    qa_body="Akkreditierungsrat",
    grade_scale=GradeScale(
        name="Note (deutsche Notenskala)",
        result_type="LetterGrade",
        grades=("1,0", "1,3", "1,7", "2,0", "2,3", "2,7", "3,0", "3,3", "3,7", "4,0"),
    ),
    courses=(
        Course(
            slug="datenkompetenz",
            title="Datenkompetenz für Ingenieurinnen und Ingenieure",
            description="Mikro-Credential über die Auswertung technischer Messdaten mit Python.",
            criteria="Klausur (60 Minuten) und benotete Projektarbeit mit Messdaten aus der Fertigung.",
            outcomes=(
                "Messdaten aus Fertigungsprozessen bereinigen, zusammenführen und dokumentieren",
                "Statistische Kennzahlen und Regressionsmodelle berechnen und deren Güte beurteilen",
                "Ergebnisse für Entscheidungsträger verständlich und reproduzierbar aufbereiten",
            ),
            ects=5,
            hours=150,
            eqf=6,
            nqf_level="6",
            cycle="first",
            field_of_study="Ingenieurwesen, Datenanalyse",
            isced="0688",
            participation="blended",
            assessment=("written-exam", "project"),
            assessment_note="Klausur unter Aufsicht vor Ort; Projektbericht mit Präsentation",
            supervision="supervised-onsite-identity-verification",
            prerequisites="Grundkenntnisse in Mathematik (Analysis, lineare Algebra)",
            stacks_towards="Zertifikat „Industrielle Datenanalyse“ (15 ECTS)",
        ),
        Course(
            slug="wasserstofftechnik",
            title="Grundlagen der Wasserstofftechnik",
            description="Erzeugung, Speicherung und sichere Nutzung von Wasserstoff in Industrie und Verkehr.",
            criteria="Mündliche Prüfung (20 Minuten) über die Inhalte des Moduls.",
            outcomes=(
                "Verfahren der Wasserelektrolyse vergleichen und deren Wirkungsgrade berechnen",
                "Sicherheitsanforderungen an Speicherung und Transport von Wasserstoff anwenden",
            ),
            ects=3,
            hours=90,
            eqf=6,
            nqf_level="6",
            field_of_study="Energietechnik",
            isced="0713",
            participation="onsite",
            assessment=("oral-exam",),
            assessment_note="Mündliche Einzelprüfung",
            supervision="supervised-onsite-identity-verification",
        ),
    ),
    given_names=("Jürgen", "Lena", "Mehmet", "Sophie", "Jörg", "Anna-Lena", "Lukas", "Büşra", "Maximilian"),
    family_names=("Müller", "Schäfer", "Weiß", "Yılmaz", "Köhler", "Groß", "Becker", "Hoffmann", "Schröder"),
)

_FR = Issuer(
    id="did:web:certifs.universite-rhone-alpes.example",
    name="Université Rhône-Alpes",
    country_code="FR",
    country="France",
    locality="Lyon",
    region="Auvergne-Rhône-Alpes",
    language="fr",
    url="https://www.universite-rhone-alpes.example",
    nqf_framework="Cadre national des certifications professionnelles",
    qa_description="Établissement évalué par le Hcéres ; formation inscrite au répertoire spécifique",
    qa_body="Haut Conseil de l'évaluation de la recherche et de l'enseignement supérieur (Hcéres)",
    grade_scale=GradeScale(
        name="Note sur 20",
        result_type="ScaledScore",
        grades=("18", "17", "16", "15", "14", "13", "12", "11", "10"),
        allowed=False,
        value_min="0",
        value_max="20",
    ),
    courses=(
        Course(
            slug="cybersecurite-industrielle",
            title="Cybersécurité des systèmes industriels",
            description="Micro-certification sur la protection des automates et réseaux industriels.",
            criteria="Examen en ligne surveillé et étude de cas notée.",
            outcomes=(
                "Identifier les vulnérabilités d'une architecture de contrôle-commande",
                "Élaborer un plan de segmentation réseau conforme à l'IEC 62443",
                "Réagir à un incident de sécurité sur un système industriel",
            ),
            ects=3,
            hours=80,
            eqf=7,
            nqf_level="7",
            cycle="second",
            field_of_study="Informatique, cybersécurité",
            isced="0612",
            participation="online",
            assessment=("online-test", "project"),
            assessment_note="Examen en ligne télésurveillé et étude de cas",
            supervision="supervised-online-identity-verification",
        ),
        Course(
            slug="economie-circulaire",
            title="Économie circulaire et écoconception",
            description="Méthodes d'analyse du cycle de vie et d'écoconception des produits.",
            criteria="Dossier d'écoconception évalué par un jury.",
            outcomes=(
                "Réaliser une analyse simplifiée du cycle de vie d'un produit",
                "Proposer des pistes d'écoconception chiffrées",
            ),
            ects=2,
            hours=50,
            eqf=6,
            field_of_study="Environnement",
            isced="0521",
            participation="blended",
            assessment=("portfolio", "presentation"),
            assessment_note="Dossier et soutenance orale",
        ),
    ),
    given_names=("Anaïs", "Léa", "Théo", "Zoé", "Noël", "Maëlle", "Hélène", "François", "Inès"),
    family_names=("Lefèvre", "Girard", "Çelik", "Dubois", "Bénard", "Moreau", "Lemaître", "Faure", "Rousseau"),
)

_PL = Issuer(
    id="did:web:mikroposwiadczenia.akademia-lodzka.example",
    name="Akademia Techniczna w Łodzi",
    country_code="PL",
    country="Polska",
    locality="Łódź",
    region="województwo łódzkie",
    language="pl",
    url="https://www.akademia-lodzka.example",
    nqf_framework="Polska Rama Kwalifikacji (PRK)",
    qa_description="Uczelnia oceniona przez Polską Komisję Akredytacyjną; kurs zatwierdzony przez senat",
    qa_body="Polska Komisja Akredytacyjna",
    grade_scale=GradeScale(
        name="Skala ocen",
        result_type="LetterGrade",
        grades=("bardzo dobry (5,0)", "dobry plus (4,5)", "dobry (4,0)", "dostateczny plus (3,5)", "dostateczny (3,0)"),
    ),
    courses=(
        Course(
            slug="uczenie-maszynowe",
            title="Podstawy uczenia maszynowego",
            description="Mikropoświadczenie z klasycznych metod uczenia maszynowego w języku Python.",
            criteria="Egzamin pisemny oraz projekt zaliczeniowy oceniany przez prowadzącego.",
            outcomes=(
                "Dobierać i trenować modele klasyfikacji oraz regresji",
                "Oceniać jakość modeli z użyciem walidacji krzyżowej",
                "Przygotowywać dane wejściowe i dokumentować wyniki eksperymentów",
            ),
            ects=4,
            hours=110,
            eqf=6,
            nqf_level="6",
            cycle="first",
            field_of_study="Informatyka",
            isced="0613",
            participation="onsite",
            assessment=("written-exam", "project"),
            assessment_note="Egzamin pisemny w sali i projekt zespołowy",
            supervision="supervised-onsite-identity-verification",
            prerequisites="Zaliczony kurs programowania w języku Python",
            stacks_towards="Studia podyplomowe „Analiza danych”",
        ),
        Course(
            slug="bhp-robotyka",
            title="Bezpieczeństwo pracy z robotami współpracującymi",
            description="Zasady bezpiecznej integracji robotów współpracujących na stanowiskach pracy.",
            criteria="Egzamin praktyczny na stanowisku z robotem współpracującym.",
            outcomes=(
                "Przeprowadzić ocenę ryzyka stanowiska z robotem współpracującym",
                "Skonfigurować strefy bezpieczeństwa zgodnie z normą ISO 10218",
            ),
            ects=1.5,
            hours=40,
            eqf=5,
            field_of_study="Automatyka i robotyka",
            isced="0714",
            participation="onsite",
            assessment=("practical-exam",),
            assessment_note="Egzamin praktyczny",
            supervision="supervised-onsite-identity-verification",
            valid_years=3,
        ),
    ),
    given_names=("Zofia", "Łukasz", "Małgorzata", "Paweł", "Agnieszka", "Wojciech", "Żaneta", "Michał", "Jędrzej"),
    family_names=("Wróblewska", "Nowak", "Żak", "Kowalczyk", "Wiśniewski", "Dąbrowska", "Szczęsny", "Górecka", "Łęcka"),
)

_FI = Issuer(
    id="did:web:osaamismerkit.keski-suomen-amk.example",
    name="Keski-Suomen ammattikorkeakoulu",
    country_code="FI",
    country="Suomi",
    locality="Jyväskylä",
    region="Keski-Suomi",
    language="fi",
    url="https://www.keski-suomen-amk.example",
    nqf_framework="Suomen tutkintojen ja muiden osaamiskokonaisuuksien viitekehys",
    qa_description="Korkeakoulun laatujärjestelmä auditoitu (Karvi); opintojakso osa tutkinto-ohjelmaa",
    qa_body="Kansallinen koulutuksen arviointikeskus Karvi",
    grade_scale=GradeScale(
        name="Arvosana (0–5)",
        result_type="LetterGrade",
        grades=("5", "4", "3", "2", "1"),
    ),
    courses=(
        Course(
            slug="kiertotalous",
            title="Kiertotalouden perusteet",
            description="Verkko-opintojakso kiertotalouden liiketoimintamalleista ja materiaalivirroista.",
            criteria="Verkkotentti ja oppimistehtävä, jotka arvioidaan asteikolla 0–5.",
            outcomes=(
                "Selittää kiertotalouden keskeiset periaatteet ja liiketoimintamallit",
                "Analysoida yrityksen materiaalivirtoja ja löytää kierrätysmahdollisuuksia",
            ),
            ects=2,
            hours=54,
            eqf=6,
            field_of_study="Ympäristötekniikka",
            isced="0712",
            participation="online",
            assessment=("online-test",),
            assessment_note="Itsenäisesti suoritettava verkkotentti",
            supervision="unsupervised-no-identity-verification",
        ),
        Course(
            slug="tekoaly-terveydenhuollossa",
            title="Tekoäly sosiaali- ja terveysalalla",
            description="Tekoälyn käyttömahdollisuudet, etiikka ja tietosuoja hyvinvointialueilla.",
            criteria="Portfolio ja vertaisarviointi.",
            outcomes=(
                "Tunnistaa tekoälyn hyödyntämiskohteita sosiaali- ja terveyspalveluissa",
                "Arvioida tekoälyratkaisujen eettisiä ja tietosuojaan liittyviä riskejä",
                "Laatia käyttöönottosuunnitelma työyhteisölle",
            ),
            ects=3,
            hours=81,
            eqf=6,
            nqf_level="6",
            field_of_study="Terveysteknologia",
            isced="0988",
            participation="blended",
            assessment=("portfolio", "peer-assessment"),
            assessment_note="Portfolio ja vertaisarviointi",
            supervision="supervised-no-identity-verification",
        ),
    ),
    given_names=("Väinö", "Aino", "Eetu", "Siiri", "Iiris", "Pihla", "Onni", "Eelis", "Venla"),
    family_names=("Hämäläinen", "Mäkelä", "Virtanen", "Järvinen", "Heikkilä", "Lähteenmäki", "Nieminen", "Kärkkäinen"),
)

_ES = Issuer(
    id="did:web:credenciales.politecnica-coruna.example",
    name="Escuela Politécnica Superior de A Coruña",
    country_code="ES",
    country="España",
    locality="A Coruña",
    region="Galicia",
    language="es",
    url="https://www.politecnica-coruna.example",
    nqf_framework="Marco Español de Cualificaciones (MECU)",
    qa_description="Microcredencial verificada por la unidad de calidad según el programa AUDIT",
    qa_body="Agencia para la Calidad del Sistema Universitario de Galicia (ACSUG)",
    grade_scale=GradeScale(
        name="Calificación numérica (0–10)",
        result_type="ScaledScore",
        grades=("9,5", "9,0", "8,5", "8,0", "7,5", "7,0", "6,5", "6,0", "5,5", "5,0"),
        allowed=False,
        value_min="0",
        value_max="10",
    ),
    courses=(
        Course(
            slug="fotovoltaica",
            title="Energías renovables: diseño de instalaciones fotovoltaicas",
            description="Diseño, dimensionado y mantenimiento de instalaciones fotovoltaicas de autoconsumo.",
            criteria="Examen escrito y proyecto de diseño de una instalación real.",
            outcomes=(
                "Dimensionar una instalación fotovoltaica de autoconsumo conectada a red",
                "Aplicar el Reglamento Electrotécnico de Baja Tensión al diseño",
                "Planificar el mantenimiento preventivo y la monitorización de la instalación",
            ),
            ects=6,
            hours=165,
            eqf=5,
            nqf_level="5",
            cycle="short",
            field_of_study="Ingeniería energética",
            isced="0713",
            participation="blended",
            assessment=("written-exam", "project"),
            assessment_note="Examen presencial y proyecto",
            supervision="supervised-onsite-identity-verification",
            prerequisites="Título de técnico en instalaciones eléctricas o experiencia equivalente",
            valid_years=5,
        ),
        Course(
            slug="ciberseguridad-pymes",
            title="Ciberseguridad para pymes",
            description="Medidas de ciberseguridad prácticas para pequeñas y medianas empresas.",
            criteria="Cuestionario en línea y caso práctico.",
            outcomes=(
                "Evaluar el nivel de ciberseguridad de una pyme con el Esquema Nacional de Seguridad",
                "Implantar copias de seguridad y autenticación multifactor",
            ),
            ects=2,
            hours=50,
            eqf=5,
            field_of_study="Informática",
            isced="0612",
            participation="online",
            assessment=("online-test", "project"),
            assessment_note="Cuestionario y caso práctico en línea",
            supervision="supervised-online-identity-verification",
        ),
    ),
    given_names=("Iñaki", "María José", "Begoña", "Íñigo", "Lucía", "Óscar", "Nuria", "Xosé", "Ángela"),
    family_names=("Núñez", "Peña", "Fernández", "Castaño", "Muñoz", "Ibáñez", "Gómez", "Seoane", "Ordóñez"),
)

_PT = Issuer(
    id="did:web:credenciais.politecnico-alto-minho.example",
    name="Instituto Politécnico do Alto Minho",
    country_code="PT",
    country="Portugal",
    locality="Viana do Castelo",
    region="Norte",
    language="pt",
    url="https://www.politecnico-alto-minho.example",
    nqf_framework="Quadro Nacional de Qualificações (QNQ)",
    qa_description="Instituição acreditada pela A3ES; curso aprovado pelo conselho técnico-científico",
    qa_body="Agência de Avaliação e Acreditação do Ensino Superior (A3ES)",
    grade_scale=GradeScale(
        name="Classificação (0–20 valores)",
        result_type="ScaledScore",
        grades=("19", "18", "17", "16", "15", "14", "13", "12", "11", "10"),
        allowed=False,
        value_min="0",
        value_max="20",
    ),
    courses=(
        Course(
            slug="turismo-sustentavel",
            title="Gestão de turismo sustentável",
            description="Planeamento e gestão de destinos turísticos com critérios de sustentabilidade.",
            criteria="Trabalho de projeto e apresentação oral avaliados por um júri.",
            outcomes=(
                "Aplicar indicadores de sustentabilidade à gestão de um destino turístico",
                "Conceber produtos turísticos de baixo impacto com parceiros locais",
            ),
            ects=3,
            hours=81,
            eqf=6,
            nqf_level="6",
            field_of_study="Turismo",
            isced="1015",
            participation="onsite",
            assessment=("project", "presentation"),
            assessment_note="Projeto e apresentação oral",
            supervision="supervised-onsite-identity-verification",
        ),
        Course(
            slug="programacao-web",
            title="Web development with accessibility in mind",
            description="Building accessible web applications that meet WCAG 2.2 AA.",
            criteria="Graded portfolio of three accessible web pages, audited by the lecturer.",
            outcomes=(
                "Build web pages that meet WCAG 2.2 level AA",
                "Audit a web application with automated and manual accessibility tests",
            ),
            ects=4,
            hours=108,
            eqf=5,
            cycle="short",
            field_of_study="Software development",
            isced="0613",
            participation="online",
            assessment=("portfolio",),
            assessment_note="Portfolio reviewed by the lecturer",
            supervision="supervised-no-identity-verification",
            stacks_towards="CTeSP em Tecnologias e Programação de Sistemas de Informação",
        ),
    ),
    given_names=("João", "Inês", "Gonçalo", "Conceição", "Tomás", "Mónica", "Sebastião", "Lúcia"),
    family_names=("Gonçalves", "Simões", "Magalhães", "Araújo", "Brandão", "Estêvão", "Conceição"),
)

_GR = Issuer(
    id="did:web:pistopoiitika.panepistimio-ioniou.example",
    name="Πανεπιστήμιο Ιονίου Πελάγους",
    country_code="GR",
    country="Ελλάδα",
    locality="Κέρκυρα",
    region="Ιόνια Νησιά",
    language="el",
    url="https://www.panepistimio-ioniou.example",
    nqf_framework="Εθνικό Πλαίσιο Προσόντων (ΕΠΠ)",
    qa_description="Πρόγραμμα πιστοποιημένο από την ΕΘΑΑΕ· εσωτερικό σύστημα διασφάλισης ποιότητας",
    qa_body="Εθνική Αρχή Ανώτατης Εκπαίδευσης (ΕΘΑΑΕ)",
    grade_scale=GradeScale(
        name="Βαθμός (0–10)",
        result_type="ScaledScore",
        grades=("10", "9", "8,5", "8", "7,5", "7", "6,5", "6", "5,5", "5"),
        allowed=False,
        value_min="0",
        value_max="10",
    ),
    courses=(
        Course(
            slug="psifiakes-dexiotites",
            title="Ψηφιακές δεξιότητες για εκπαιδευτικούς",
            description="Αξιοποίηση ψηφιακών εργαλείων στη διδασκαλία και στην αξιολόγηση.",
            criteria="Χαρτοφυλάκιο διδακτικών σεναρίων και γραπτή εξέταση.",
            outcomes=(
                "Σχεδιάζει διδακτικά σενάρια με ψηφιακά εργαλεία",
                "Αξιολογεί την προσβασιμότητα ψηφιακού εκπαιδευτικού υλικού",
            ),
            ects=5,
            hours=125,
            eqf=6,
            nqf_level="6",
            field_of_study="Επιστήμες της εκπαίδευσης",
            isced="0111",
            participation="blended",
            assessment=("portfolio", "written-exam"),
            assessment_note="Χαρτοφυλάκιο και γραπτή εξέταση",
            supervision="supervised-online-identity-verification",
            stacks_towards="Πρόγραμμα επιμόρφωσης «Ψηφιακή διδακτική» (20 ECTS)",
        ),
    ),
    given_names=("Δημήτρης", "Ελένη", "Γιώργος", "Αικατερίνη", "Νίκος", "Μαρία", "Σπύρος", "Ζωή"),
    family_names=("Παπαδόπουλος", "Κωνσταντίνου", "Γεωργίου", "Οικονόμου", "Βλάχος", "Μαυρίδης", "Ιωάννου"),
)

_IT = Issuer(
    id="did:web:microcredenziali.politecnico-adriatico.example",
    name="Politecnico dell'Adriatico",
    country_code="IT",
    country="Italia",
    locality="Ancona",
    region="Marche",
    language="it",
    url="https://www.politecnico-adriatico.example",
    nqf_framework="Quadro Nazionale delle Qualificazioni (QNQ)",
    qa_description="Ateneo accreditato ANVUR (AVA3); corso approvato dal Senato accademico",
    qa_body="Agenzia Nazionale di Valutazione del sistema Universitario e della Ricerca (ANVUR)",
    grade_scale=GradeScale(
        name="Voto in trentesimi",
        result_type="LetterGrade",
        grades=("30 e lode", "30", "29", "28", "27", "26", "25", "24", "23", "22", "21", "20", "19", "18"),
    ),
    courses=(
        Course(
            slug="restauro-digitale",
            title="Rilievo digitale per il restauro architettonico",
            description="Fotogrammetria e laser scanning per la documentazione del patrimonio costruito.",
            criteria="Progetto di rilievo di un edificio storico e colloquio orale.",
            outcomes=(
                "Pianificare una campagna di rilievo con fotogrammetria e laser scanner",
                "Produrre elaborati metrici per il progetto di restauro",
            ),
            ects=4,
            hours=100,
            eqf=7,
            nqf_level="7",
            cycle="second",
            field_of_study="Architettura e restauro",
            isced="0731",
            participation="onsite",
            assessment=("project", "oral-exam"),
            assessment_note="Progetto e colloquio",
            supervision="supervised-onsite-identity-verification",
        ),
    ),
    given_names=("Niccolò", "Chiara", "Lorenzo", "Ilaria", "Mattia", "Gaia", "Tommaso", "Beatrice"),
    family_names=("Rossi", "Bianchi", "Esposito", "Ricci", "Marchetti", "De Luca", "Galli", "Cattaneo"),
)

ISSUERS: Final = (_DE, _FR, _PL, _FI, _ES, _PT, _GR, _IT)
"""The built-in awarding bodies, one per country."""


def issuer_for_country(country_code: str) -> Issuer:
    """The built-in issuer of a country (DE, FR, PL, FI, ES, PT, GR or IT)."""
    for issuer in ISSUERS:
        if issuer.country_code == country_code:
            return issuer
    known = ", ".join(issuer.country_code for issuer in ISSUERS)
    raise ValueError(f"no example issuer in {country_code!r}; there is one in {known}")


def _uuid4(bits: int) -> str:
    """A version-4 UUID string from 128 random bits (cheaper than building a ``uuid.UUID``)."""
    text = f"{bits:032x}"
    variant = "89ab"[int(text[16], 16) & 3]
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:32]}"


def _days(start: datetime, count: int) -> list[tuple[str, str, str]]:
    """For each day from ``start``: its date, the day the course started, and the year it was issued."""
    out = []
    for offset in range(count):
        day = start + timedelta(days=offset)
        began = day - timedelta(days=42 + offset % 28)
        out.append((day.strftime("%Y-%m-%d"), began.strftime("%Y-%m-%d"), day.strftime("%Y")))
    return out


def _profile(issuer: Issuer) -> dict[str, Any]:
    return {
        "id": issuer.id,
        "type": ["Profile"],
        "name": issuer.name,
        "url": issuer.url,
        "address": {
            "type": ["Address"],
            "addressCountryCode": issuer.country_code,
            "addressCountry": issuer.country,
            "addressRegion": issuer.region,
            "addressLocality": issuer.locality,
        },
    }


def _achievement(issuer: Issuer, course: Course) -> dict[str, Any]:
    base = f"{issuer.url}/microcredentials/{course.slug}"
    scale = issuer.grade_scale
    description: dict[str, Any] = {
        "id": f"{base}#grade",
        "type": ["ResultDescription"],
        "name": scale.name,
        "resultType": scale.result_type,
    }
    if scale.allowed:
        description["allowedValue"] = list(scale.grades)
    if scale.value_min is not None:
        description["valueMin"] = scale.value_min
    if scale.value_max is not None:
        description["valueMax"] = scale.value_max
    eu: dict[str, Any] = {
        "eqfLevel": course.eqf,
        "creditSystem": "ECTS",
        "workloadHours": course.hours,
        "learningOutcomes": list(course.outcomes),
        "iscedF": course.isced,
        "assessment": {"methods": list(course.assessment), "description": course.assessment_note},
        "participation": course.participation,
        "qualityAssurance": {"description": issuer.qa_description, "body": issuer.qa_body},
    }
    if course.nqf_level is not None:
        eu["nqf"] = {"framework": issuer.nqf_framework, "level": course.nqf_level}
    if course.cycle is not None:
        eu["qfEheaCycle"] = course.cycle
    if course.supervision is not None:
        eu["supervision"] = course.supervision
    if course.prerequisites is not None:
        eu["prerequisites"] = course.prerequisites
    if course.stacks_towards is not None:
        eu["stackability"] = {"mode": "stackable", "towards": course.stacks_towards}
    else:
        eu["stackability"] = {"mode": "stand-alone"}
    return {
        "id": base,
        "type": ["Achievement"],
        "achievementType": "MicroCredential",
        "name": course.title,
        "description": course.description,
        "criteria": {"narrative": course.criteria},
        "creditsAvailable": course.ects,
        "fieldOfStudy": course.field_of_study,
        "inLanguage": issuer.language,
        "resultDescription": [description],
        "euMicroCredential": eu,
    }


def generate_credentials(
    count: int,
    seed: int = 0,
    *,
    issuer: Issuer | None = None,
    salted: bool = True,
    start: datetime = datetime(2025, 1, 6, tzinfo=UTC),
) -> Iterator[Credential]:
    """Yield ``count`` valid, realistic credentials; the same arguments always yield the same credentials.

    ``issuer`` fixes the awarding body (default: each credential from a random built-in one). Issue dates
    fall on the 365 days from ``start``. With ``salted`` each credential gets an ``anchorSalt`` from the
    seeded generator. Every credential is a fresh object tree: callers may mutate what they receive.
    """
    if count < 0:
        raise ValueError(f"count must be at least 0, got {count}")
    rng = random.Random(seed)  # noqa: S311 -- reproducible demo data; production salts use secrets
    issuers = (issuer,) if issuer is not None else ISSUERS
    days = _days(start, 365)
    profiles = {id(item): _profile(item) for item in issuers}
    offerings = [(item, course) for item in issuers for course in item.courses]
    grade_weights = {
        id(item): [float(len(item.grade_scale.grades) - rank) for rank in range(len(item.grade_scale.grades))]
        for item in issuers
    }
    for _ in range(count):
        awarding, course = offerings[rng.randrange(len(offerings))]
        day, began, year = days[rng.randrange(365)]
        hour = 8 + rng.randrange(10)
        minute = rng.randrange(60)
        given = rng.choice(awarding.given_names)
        family = rng.choice(awarding.family_names)
        student = rng.randrange(10_000, 1_000_000)
        profile = profiles[id(awarding)]
        achievement = _achievement(awarding, course)
        scale = awarding.grade_scale
        grade = rng.choices(scale.grades, weights=grade_weights[id(awarding)])[0]
        subject: dict[str, Any] = {
            "id": f"urn:uuid:{_uuid4(rng.getrandbits(128))}",
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "hashed": False,
                    "identityHash": f"{given} {family}",
                    "identityType": "name",
                },
                {
                    "type": "IdentityObject",
                    "hashed": False,
                    "identityHash": f"{year}-{student:06d}",
                    "identityType": "sisSourcedId",
                },
            ],
            "achievement": achievement,
            "creditsEarned": course.ects,
            "activityStartDate": f"{began}T08:00:00Z",
            "activityEndDate": f"{day}T{hour - 1:02d}:00:00Z",
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": achievement["resultDescription"][0]["id"],
                    "value": grade,
                    "status": "Completed",
                }
            ],
        }
        credential: Credential = {
            "@context": list(CONTEXTS),
            "id": f"urn:uuid:{_uuid4(rng.getrandbits(128))}",
            "type": list(CREDENTIAL_TYPES),
            "name": course.title,
            "issuer": {**profile, "address": dict(profile["address"]), "type": ["Profile"]},
            "validFrom": f"{day}T{hour:02d}:{minute:02d}:00Z",
            "credentialSubject": subject,
            "anchorFormat": FORMAT_V1,
        }
        if course.valid_years is not None:
            until_year = int(year) + course.valid_years
            month_day = "-02-28" if day[4:] == "-02-29" else day[4:]
            credential["validUntil"] = f"{until_year}{month_day}T23:59:59Z"
        if salted:
            credential["anchorSalt"] = f"0x{rng.getrandbits(256):064x}"
        yield credential
