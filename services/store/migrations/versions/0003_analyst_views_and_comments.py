"""Views analysts start from (city_indicator_year, indicator_coverage, place_coverage, document_summary)
and a comment on every table, column, view and function.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Comparison views take only figures whose unit kind is their indicator's (metric_facts.unit_kind_matches),
so no indicator mixes yuan with percent; metric_facts keeps every figure and says which are left out.
The new views read metric_facts: a migration that replaces it drops and recreates them, and comments
again whatever it recreates (a test checks that every column has a comment).
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# One row per place x indicator x year. The figure to cite comes from the newest document by
# publication date (undated ones last), then the most recently ingested; within a document a
# level beats a change (438 stations over 增加50个), then the first in the text.
# A document agrees when one of its figures for the cell equals the cited one (value, range, change).
CITY_INDICATOR_YEAR = """
CREATE VIEW city_indicator_year AS
WITH comparable AS (
    SELECT f.*, coalesce(f.place_code, f.city) AS place_key, d.ingested_at
    FROM metric_facts f
    JOIN documents d ON d.id = f.document_id
    WHERE f.unit_kind_matches AND coalesce(f.place_code, f.city) IS NOT NULL
),
ranked AS (
    SELECT c.*,
           row_number() OVER newest_first AS rank,
           first_value(c.value) OVER newest_first AS cited_value,
           first_value(c.value_max) OVER newest_first AS cited_value_max,
           first_value(c.change) OVER newest_first AS cited_change
    FROM comparable c
    WINDOW newest_first AS (
        PARTITION BY c.place_key, c.indicator, c.year
        ORDER BY c.published_on DESC NULLS LAST, c.ingested_at DESC, c.document_id,
                 c.change IS NOT NULL, c.start_offset, c.id
    )
),
per_document AS (
    SELECT place_key, indicator, year, document_id, count(*) AS figures,
           bool_or(value = cited_value
                   AND value_max IS NOT DISTINCT FROM cited_value_max
                   AND change IS NOT DISTINCT FROM cited_change) AS agrees
    FROM ranked
    GROUP BY place_key, indicator, year, document_id
),
tally AS (
    SELECT place_key, indicator, year,
           count(*)::int AS documents,
           (count(*) FILTER (WHERE agrees))::int AS documents_agreeing,
           (count(*) FILTER (WHERE NOT agrees))::int AS documents_disagreeing,
           sum(figures)::int AS figures
    FROM per_document
    GROUP BY place_key, indicator, year
)
SELECT r.place_code, r.city, r.place_level, r.prefecture, r.province,
       r.indicator, r.indicator_name_zh, r.indicator_name_en, r.year,
       r.value, r.value_max, r.change, r.unit_kind, r.qualifier, r.measure_word, r.surface, r.sentence,
       r.id AS metric_id, r.document_id, r.file_name, r.title, r.published_on,
       t.documents, t.documents_agreeing, t.documents_disagreeing, t.figures
FROM ranked r
JOIN tally t
  ON t.place_key = r.place_key AND t.indicator = r.indicator AND t.year IS NOT DISTINCT FROM r.year
WHERE r.rank = 1
"""

INDICATOR_COVERAGE = """
CREATE VIEW indicator_coverage AS
WITH figures AS (
    SELECT indicator, coalesce(place_code, city) AS place_key, year, document_id, unit_kind_matches
    FROM metric_facts
    WHERE indicator IS NOT NULL
)
SELECT i.code AS indicator, i.name_zh AS indicator_name_zh, i.name_en AS indicator_name_en,
       i.group_name, i.unit_kind,
       (count(DISTINCT f.place_key) FILTER (WHERE f.unit_kind_matches))::int AS places,
       (count(DISTINCT f.year) FILTER (WHERE f.unit_kind_matches))::int AS years,
       min(f.year) FILTER (WHERE f.unit_kind_matches) AS first_year,
       max(f.year) FILTER (WHERE f.unit_kind_matches) AS last_year,
       (count(DISTINCT f.document_id) FILTER (WHERE f.unit_kind_matches))::int AS documents,
       (count(*) FILTER (WHERE f.unit_kind_matches))::int AS figures,
       (count(*) FILTER (WHERE NOT f.unit_kind_matches))::int AS figures_other_unit
FROM indicators i
LEFT JOIN figures f ON f.indicator = i.code
GROUP BY i.code, i.name_zh, i.name_en, i.group_name, i.unit_kind
"""

PLACE_COVERAGE = """
CREATE VIEW place_coverage AS
SELECT min(c.place_code) AS place_code, min(c.city) AS city, min(c.place_level) AS place_level,
       min(c.prefecture) AS prefecture, min(c.province) AS province,
       count(DISTINCT c.indicator)::int AS indicators,
       count(DISTINCT c.year)::int AS years,
       min(c.year) AS first_year, max(c.year) AS last_year,
       ARRAY(SELECT i.code FROM indicators i
             WHERE i.code <> ALL (array_agg(c.indicator)) ORDER BY i.code) AS indicators_missing
FROM city_indicator_year c
GROUP BY coalesce(c.place_code, c.city)
"""

# A document's own place is the first of documents.places (the extractor lists the page's own
# place first); its code and province are those most of its figures in that place carry.
DOCUMENT_SUMMARY = """
CREATE VIEW document_summary AS
WITH figures AS (
    SELECT f.document_id,
           mode() WITHIN GROUP (ORDER BY f.place_code) FILTER (WHERE f.city = d.places[1]) AS place_code,
           mode() WITHIN GROUP (ORDER BY f.province) FILTER (WHERE f.city = d.places[1]) AS province,
           count(*)::int AS figures,
           (count(*) FILTER (WHERE f.indicator IS NOT NULL))::int AS figures_with_indicator,
           count(DISTINCT f.indicator)::int AS indicators,
           (count(*) FILTER (WHERE NOT f.unit_kind_matches))::int AS figures_other_unit,
           (count(*) FILTER (WHERE f.city IS NULL))::int AS figures_without_place
    FROM metric_facts f
    JOIN documents d ON d.id = f.document_id
    GROUP BY f.document_id
),
log AS (
    SELECT doc_id,
           (array_agg(file_name ORDER BY logged_at DESC, id DESC))[1] AS file_name,
           (array_agg(status ORDER BY logged_at DESC, id DESC))[1] AS last_status,
           max(logged_at) AS last_logged_at,
           (count(*) FILTER (WHERE status = 'failed'))::int AS failures,
           (array_agg(stage || ': ' || coalesce(reason, '') ORDER BY logged_at DESC, id DESC)
              FILTER (WHERE status = 'failed'))[1] AS last_failure
    FROM ingest_log
    WHERE doc_id IS NOT NULL
    GROUP BY doc_id
)
SELECT coalesce(d.id, l.doc_id) AS document_id,
       coalesce(d.file_name, l.file_name) AS file_name,
       d.id IS NOT NULL AS stored,
       d.title, d.published_on, d.source, d.places[1] AS place, f.place_code, f.province, d.places,
       d.script, d.format, d.extractor_version,
       coalesce(f.figures, 0) AS figures,
       coalesce(f.figures_with_indicator, 0) AS figures_with_indicator,
       coalesce(f.indicators, 0) AS indicators,
       coalesce(f.figures_other_unit, 0) AS figures_other_unit,
       coalesce(f.figures_without_place, 0) AS figures_without_place,
       coalesce(l.failures, 0) AS failures, l.last_failure, l.last_status, l.last_logged_at
FROM documents d
FULL JOIN log l ON l.doc_id = d.id
LEFT JOIN figures f ON f.document_id = d.id
"""

VIEWS = {
    "city_indicator_year": CITY_INDICATOR_YEAR,
    "indicator_coverage": INDICATOR_COVERAGE,
    "place_coverage": PLACE_COVERAGE,
    "document_summary": DOCUMENT_SUMMARY,
}

# Words used in several comments.
_UNIT_KINDS = (
    "person, household, person_times (人次), times (次/场), count (个/处/项…), money_cny (yuan), percent, "
    "percentage_point, area_m2, length_m, volume_m3, mass_t, hours, days, years, multiple (倍), score"
)
_PLACE_BASIS = (
    "why the figure has its place: sentence (named in its sentence), section (its article's heading), "
    "title (the page's title), document (the place the page names most), file (sidecar or folder), "
    "none (no place); NULL on figures stored before this was recorded"
)

DOCUMENTS = {
    "id": "SHA-256 of the file's bytes: the same content under any name is one document",
    "file_name": "name of the file when it was dropped (文件名)",
    "title": "title of the page or report (标题)",
    "published_on": "publication date found in the text or its sidecar (发布日期)",
    "source": "publisher named on the page or in the sidecar (来源), e.g. 安徽文明网",
    "author": "author or byline (作者)",
    "places": "places the document is about, its own place first (display names, e.g. 淮北市)",
    "script": "script of the original text: traditional (繁体) or simplified (简体)",
    "encoding": "encoding the file was decoded from (utf-8, gb18030, big5, utf-16)",
    "format": "file format: txt, html, docx or pdf",
    "size_bytes": "size of the file in bytes",
    "original_text": "the decoded text as written; metrics.start_offset/end_offset point into it",
    "simplified_text": "cleaned text in Simplified script, which the extractor read",
    "extractor_version": "version of the extractor whose figures are stored; a newer one replaces them",
    "metric_count": "number of figures stored for the document",
    "ingested_at": "when the ingest stage read the file",
    "stored_at": "when the document was first stored",
    "updated_at": "when the document was last stored (a newer extractor replaces its figures)",
}

METRICS = {
    "id": "figure id",
    "document_id": "the document the figure comes from (documents.id)",
    "ordinal": "position of the figure among its document's figures",
    "value": "the figure in base units (数值): 42万名 -> 420000, 3.5亿元 -> 350000000, 85.2% -> 85.2; "
    "for a range, its low end",
    "value_max": "upper end when the figure is a range (3至5天 -> value 3, value_max 5); NULL otherwise",
    "unit_kind": f"what the value counts (单位类型): {_UNIT_KINDS}",
    "measure_word": "measure word as written (量词), e.g. 名, 个, 万元",
    "qualifier": "how exact the figure is: exact, over (余/多/以上/超过), approx (约/近/左右), "
    "under (不到/以下)",
    "change": "increase (增加/提高/增长…) or decrease (减少/下降…) when the figure is the size of a change "
    "(增加了20元); NULL for a level (增加到500元, and 新增 counts new things)",
    "indicator": "indicator code from the catalog (indicators.code), NULL when the figure matches none",
    "subject": "what the figure counts, as written (e.g. 志愿者, 新时代文明实践站)",
    "city": "place the figure belongs to, display name (e.g. 淮北市, 乌海市海南区); NULL when unknown",
    "place_code": "6-digit administrative division code of the place (行政区划代码; regions.code)",
    "place_level": "level of the place: province (省级), prefecture (地级), county (县级), district (市辖区)",
    "place_basis": _PLACE_BASIS,
    "year": "year the figure refers to (年份), NULL when the text does not say",
    "surface": "the figure as written in the original text (原文), e.g. 42萬名",
    "start_offset": "offset of the figure's first character in documents.original_text",
    "end_offset": "offset just past the figure's last character in documents.original_text",
    "sentence": "the sentence the figure stands in (原句), Simplified script",
}

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "documents": (
        "One row per distinct file content (文档): metadata, original and Simplified text.",
        DOCUMENTS,
    ),
    "metrics": (
        "One row per figure found in a document (指标数值), traceable to its sentence and offsets. "
        "Start from the view metric_facts, which adds names, province and document.",
        METRICS,
    ),
    "passages": (
        "Runs of whole lines of a document's Simplified text (段落), indexed for Chinese full-text search: "
        "WHERE search_vector @@ zh_query('实践站').",
        {
            "id": "passage id",
            "document_id": "the document (documents.id)",
            "ordinal": "position of the passage in its document",
            "start_offset": "offset of the passage in documents.simplified_text",
            "text": "the passage, at most 2,000 characters",
            "search_terms": "character bigrams of the passage (Postgres has no Chinese parser)",
            "search_vector": "tsvector of search_terms; match it with zh_query(text)",
        },
    ),
    "indicators": (
        "The indicator catalog (测评指标目录, shared/indicators.yaml): stable codes with names and the unit "
        "kind their figures are in.",
        {
            "code": "stable public code, group.name (e.g. volunteer.registered)",
            "name_zh": "Chinese name (指标名称)",
            "name_en": "English name",
            "group_name": "group: morality, volunteer, practice, culture, city, infra, eco, livelihood, "
            "governance",
            "unit_kind": "unit kind of the indicator's figures; figures in another kind stay out of the "
            "comparison views",
        },
    ),
    "regions": (
        "Administrative divisions of China (行政区划), from jionlp's data as the extractor uses it; "
        "metrics join through place_code.",
        {
            "code": "6-digit administrative division code (行政区划代码)",
            "name": "official name (e.g. 海南区)",
            "level": "province (省级), prefecture (地级), county (县级) or district (市辖区)",
            "parent_code": "code of the division it lies in; NULL for a province",
            "province": "province, autonomous region or municipality it is or lies in (省份)",
            "prefecture": "prefecture-level city it is or lies in (地级市); NULL for a province",
        },
    ),
    "ingest_log": (
        "What became of every file and message (处理日志): stored, updated, unchanged, stale or failed.",
        {
            "id": "log entry id",
            "doc_id": "the document (documents.id), NULL when a message could not be read at all",
            "file_name": "the file's name",
            "status": "stored, updated (newer extractor), unchanged (same again), stale (older extractor, "
            "ignored) or failed",
            "stage": "the stage that logged it: ingest, normalize, extract or store",
            "reason": "why it failed, NULL otherwise",
            "logged_at": "when",
        },
    ),
    "alembic_version": (
        "The schema's migration revision (Alembic); the store migrates it as it starts.",
        {"version_num": "current revision"},
    ),
}

_FACT_PLACE = {
    "prefecture": "prefecture-level city of the figure's place (地级市), from regions",
    "province": "province of the figure's place (省份), from regions",
}
_INDICATOR_NAMES = {
    "indicator_name_zh": "Chinese name of the indicator (指标名称)",
    "indicator_name_en": "English name of the indicator",
}
_DOCUMENT_OF_FIGURE = {
    "file_name": "file the figure comes from",
    "title": "title of the document",
    "published_on": "publication date of the document (发布日期)",
}

METRIC_FACTS = (
    "Start here: every figure with its place, province, indicator names and document (one row per "
    "figure). unit_kind_matches = false marks figures kept out of the comparison views.",
    {
        **{c: METRICS[c] for c in ("id", "document_id")},
        **_DOCUMENT_OF_FIGURE,
        **{c: METRICS[c] for c in ("city", "place_code", "place_level", "place_basis")},
        **_FACT_PLACE,
        **{c: METRICS[c] for c in ("year", "indicator")},
        **_INDICATOR_NAMES,
        **{c: METRICS[c] for c in ("value", "value_max", "change", "unit_kind")},
        "indicator_unit_kind": "unit kind of the indicator (indicators.unit_kind)",
        "unit_kind_matches": "true when the figure is in its indicator's unit kind; false: kept out of "
        "city_indicator_year and the coverage views; NULL without an indicator",
        **{
            c: METRICS[c]
            for c in ("measure_word", "qualifier", "subject", "surface", "start_offset", "end_offset")
        },
        "sentence": METRICS["sentence"],
    },
)

VIEW_COMMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "metric_facts": METRIC_FACTS,
    "city_indicator_year": (
        "One row per place x indicator x year (year NULL: not stated) with the figure to cite: from the "
        "newest document by publication date, then the latest ingested; a level before a change, then the "
        "first in the text. Only figures in the indicator's unit kind.",
        {
            **{c: METRICS[c] for c in ("place_code", "city", "place_level")},
            **_FACT_PLACE,
            "indicator": METRICS["indicator"],
            **_INDICATOR_NAMES,
            "year": METRICS["year"],
            **{
                c: f"{METRICS[c]} (of the cited figure)"
                for c in ("value", "value_max", "change", "unit_kind", "qualifier", "measure_word")
            },
            "surface": "the cited figure as written in the original text",
            "sentence": "the sentence the cited figure stands in (原句)",
            "metric_id": "the cited figure (metrics.id, metric_facts.id)",
            "document_id": "the document of the cited figure",
            **{c: f"{text} of the cited figure" for c, text in _DOCUMENT_OF_FIGURE.items()},
            "documents": "documents with a figure for this place, indicator and year",
            "documents_agreeing": "documents with a figure equal to the cited one (value, range and change), "
            "the cited document included",
            "documents_disagreeing": "documents whose figures all differ from the cited one",
            "figures": "figures for this place, indicator and year, in all documents",
        },
    ),
    "indicator_coverage": (
        "One row per catalog indicator: how many places, years and documents have a figure in its unit kind.",
        {
            "indicator": "indicator code (indicators.code)",
            **_INDICATOR_NAMES,
            "group_name": "indicator group",
            "unit_kind": "the indicator's unit kind",
            "places": "places with a figure",
            "years": "distinct stated years with a figure",
            "first_year": "earliest stated year with a figure",
            "last_year": "latest stated year with a figure",
            "documents": "documents with a figure",
            "figures": "figures in the indicator's unit kind",
            "figures_other_unit": "figures matched to the indicator in another unit kind, left out above",
        },
    ),
    "place_coverage": (
        "One row per place with comparable figures: how many indicators and years it has, and which "
        "catalog indicators it lacks.",
        {
            **{c: METRICS[c] for c in ("place_code", "city", "place_level")},
            **_FACT_PLACE,
            "indicators": "indicators with a figure for the place",
            "years": "distinct stated years with a figure",
            "first_year": "earliest stated year",
            "last_year": "latest stated year",
            "indicators_missing": "catalog indicator codes with no figure for the place",
        },
    ),
    "document_summary": (
        "One row per document stored or failed: its place, date, figure counts and failures from "
        "ingest_log. Failures without a document id are only in ingest_log.",
        {
            "document_id": "documents.id, or ingest_log.doc_id for a document never stored",
            "file_name": "file name (the latest logged, for a document never stored)",
            "stored": "true when the document is in documents",
            "title": DOCUMENTS["title"],
            "published_on": DOCUMENTS["published_on"],
            "source": DOCUMENTS["source"],
            "place": "the document's own place (first of documents.places)",
            "place_code": "code most of the document's figures in its own place carry",
            "province": "province of the document's own place",
            "places": DOCUMENTS["places"],
            "script": DOCUMENTS["script"],
            "format": DOCUMENTS["format"],
            "extractor_version": DOCUMENTS["extractor_version"],
            "figures": "figures stored for the document",
            "figures_with_indicator": "figures matched to a catalog indicator",
            "indicators": "distinct indicators among its figures",
            "figures_other_unit": "figures in a unit kind other than their indicator's",
            "figures_without_place": "figures with no place",
            "failures": "failed entries in ingest_log for the document",
            "last_failure": "stage and reason of the latest failure",
            "last_status": "latest ingest_log status: stored, updated, unchanged, stale or failed",
            "last_logged_at": "time of the latest ingest_log entry",
        },
    ),
}

FUNCTIONS = {
    "zh_query(text)": "Chinese full-text query: any run of two or more characters as a bigram phrase, "
    "runs ANDed; match passages.search_vector @@ zh_query('垃圾分类'). Simplified script.",
}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment(kind: str, name: str, text: str | None) -> None:
    op.execute(f"COMMENT ON {kind} {name} IS {_literal(text) if text is not None else 'NULL'}")


def _comment_all(kind: str, objects: dict[str, tuple[str, dict[str, str]]], *, clear: bool = False) -> None:
    for name, (about, columns) in objects.items():
        _comment(kind, name, None if clear else about)
        for column, text in columns.items():
            _comment("COLUMN", f"{name}.{column}", None if clear else text)


def upgrade() -> None:
    for view in VIEWS.values():
        op.execute(view)
    _comment_all("TABLE", TABLES)
    _comment_all("VIEW", VIEW_COMMENTS)
    for function, text in FUNCTIONS.items():
        _comment("FUNCTION", function, text)


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    _comment_all("TABLE", TABLES, clear=True)
    _comment_all("VIEW", {"metric_facts": METRIC_FACTS}, clear=True)
    for function in FUNCTIONS:
        _comment("FUNCTION", function, None)
