"""The OpenAPI operations of the batch routes (api/batches.py), kept out of the views.

Each constant is the YAML that api/openapi.py reads after a view docstring's `---` line
(apispec's convention: one key per HTTP method); `documented` appends it to the view's
docstring, so the views stay short and the document is built like every other route's.
"""

from __future__ import annotations

from collections.abc import Callable
from textwrap import dedent
from typing import TypeVar

View = TypeVar("View", bound=Callable[..., object])

ERRORS = """
        default: {$ref: "#/components/responses/Error"}
"""
NOT_FOUND = """
        404:
          description: No such batch for this key (unknown, deleted or expired)
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
"""
REFUSED = """
        400:
          description: A bad option or field (`invalid_option`); a bad item never rejects
            the request, it becomes a failed item
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
        413:
          description: The request is over the batch size limit or has too many parts
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
"""
ITEMS_BODY = """
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {$ref: "#/components/schemas/BatchForm"}
            encoding:
              images: {contentType: application/octet-stream}
              archive: {contentType: application/zip}
          application/json:
            schema: {$ref: "#/components/schemas/BatchJson"}
"""
ITEMS_ADDED = """
        202:
          description: The batch, with the items made from `images` and the zips and URL
            lists queued for expansion
          content:
            application/json:
              schema: {$ref: "#/components/schemas/BatchItemsAdded"}
"""
THE_BATCH = """
        200:
          description: The batch
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Batch"}
"""

# From a created batch to every route of it (OpenAPI links: clients and stateful tests).
LINKS = """
          links:
""" + "".join(
    f"""            {name}:
              operationId: batches.{endpoint}
              parameters: {{batch_id: "$response.body#/id"}}
"""
    for name, endpoint in (
        ("AddItems", "add_items.post"),
        ("Close", "close_batch.post"),
        ("Get", "get_batch.get"),
        ("ListJobs", "list_jobs.get"),
        ("Report", "report.get"),
        ("Results", "results.get"),
        ("Cancel", "cancel_batch.delete"),
    )
)

CREATE = (
    """
    post:
      summary: Create a batch
      description: Every job option in the form applies to each item. A batch created
        with items is closed at once unless `stay_open` is true; one created without
        items stays open for `POST /v1/batches/{batch_id}/items`. Zips and URL lists are
        expanded by the workers, never inside the request.
      tags: [batches]
"""
    + ITEMS_BODY
    + """
      responses:
"""
    + ITEMS_ADDED.replace("The batch,", "The batch (Location points at it),")
    + LINKS
    + REFUSED
    + ERRORS
)
ADD_ITEMS = (
    """
    post:
      summary: Add items to an open batch
      description: Images, zips and URL lists, as when creating it; the batch's own
        options and fields are not changed.
      tags: [batches]
"""
    + ITEMS_BODY
    + """
      responses:
"""
    + ITEMS_ADDED
    + REFUSED
    + NOT_FOUND
    + """
        409:
          description: The batch is closed, completed or canceled (`batch_closed`)
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
"""
    + ERRORS
)
CLOSE = (
    """
    post:
      summary: Close a batch
      description: No more items are coming; the batch completes when every item ended.
      tags: [batches]
      responses:
"""
    + THE_BATCH
    + NOT_FOUND
    + ERRORS
)
GET = (
    """
    get:
      summary: Get a batch
      description: Status, counts, progress, speed, time left and the webhook's deliveries.
      tags: [batches]
      responses:
"""
    + THE_BATCH
    + NOT_FOUND
    + ERRORS
)
JOBS = (
    """
    get:
      summary: List a batch's items
      tags: [batches]
      parameters:
        - name: status
          in: query
          required: false
          description: only the items with this job status
          schema: {type: string, enum: [queued, processing, succeeded, failed, canceled]}
        - name: cursor
          in: query
          required: false
          description: where the page starts (the previous page's `next_cursor`)
          schema: {type: integer, minimum: 0, maximum: 9007199254740991, default: 0}
        - name: limit
          in: query
          required: false
          description: items per page (at most 1000)
          schema: {type: integer, minimum: 1, maximum: 1000, default: 100}
      responses:
        200:
          description: A page of items, in the order they were added
          content:
            application/json:
              schema: {$ref: "#/components/schemas/BatchJobsPage"}
        400:
          description: A bad status, cursor or limit (`invalid_option`)
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
"""
    + NOT_FOUND
    + ERRORS
)
REPORT = (
    """
    get:
      summary: Download the batch's report
      description: One CSV row per item (name, job_id, status, error, size, quality
        proxies, timings, result_url); see docs/batches.md for the columns.
      tags: [batches]
      responses:
        200:
          description: The report, streamed
          content:
            text/csv:
              schema: {type: string}
"""
    + NOT_FOUND
    + ERRORS
)
RESULTS = (
    """
    get:
      summary: Download the batch's results
      description: Every succeeded item's result under a flat, unique name, and
        `report.csv`; streamed from storage as it is sent.
      tags: [batches]
      responses:
        200:
          description: A zip (entries stored, not compressed)
          content:
            application/zip:
              schema: {type: string, format: binary}
"""
    + NOT_FOUND
    + ERRORS
)
CANCEL = (
    """
    delete:
      summary: Cancel a batch
      description: Items not started yet are canceled; running ones finish.
      tags: [batches]
      responses:
        200:
          description: The batch, canceled, with the number of items canceled
          content:
            application/json:
              schema: {$ref: "#/components/schemas/BatchCanceled"}
"""
    + NOT_FOUND
    + ERRORS
)


def documented(operations: str) -> Callable[[View], View]:
    """Append `operations` (YAML) to the view's docstring after a `---` line."""

    def attach(view: View) -> View:
        summary = (view.__doc__ or "").strip()
        view.__doc__ = f"{summary}\n---\n{dedent(operations).strip()}\n"
        return view

    return attach
