"""SCIM 2.0 provisioning (RFC 7644) at /scim/v2: an HR system or the institution's IdP
creates, updates and deactivates people, and keeps cohorts as groups.

Every answer is `application/scim+json`, errors included (RFC 7644 section 3.12: `status`,
`scimType`, `detail`). Callers need a token of this institution with the `provisioner`
role. Deactivation (`active: false`) withdraws the person from every program, so each
program's withdrawal policy applies; DELETE erases them (a tombstone stays, as for any
erasure). The same push twice changes nothing.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from scim2_models import (
    Context,
    ListResponse,
    Meta,
    PatchOp,
    ResourceType,
    ResponseParameters,
    SCIMException,
    SearchRequest,
    ServiceProviderConfig,
)

from telemachus.identity.domain import commands
from telemachus.identity.domain.career_stages import STAGE_NAMES
from telemachus.identity.domain.cohorts import Cohort
from telemachus.identity.domain.participants import EmailAddress, Participant
from telemachus.identity.entrypoints.scim_resources import (
    PARTICIPANT_SCHEMA,
    CareerStageName,
    Email,
    Employment,
    GroupMember,
    ParticipantProfile,
    ProfessionName,
    RosterUser,
    public,
)
from telemachus.identity.entrypoints.scim_resources import Cohort as CohortGroup
from telemachus.identity.service_layer import access
from telemachus.identity.service_layer.views import IdentityViews
from telemachus.shared.errors import Conflict, DomainError, NotFound, Rejected, problems
from telemachus.shared.runtime.auth import BearerVerifier
from telemachus.shared.runtime.bus import MessageBus
from telemachus.shared.security.tokens import Role

BASE = "/scim/v2"
MEDIA_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
MAX_RESULTS = 1000
READ_ONLY = frozenset({"ServiceProviderConfig", "ResourceTypes", "Schemas"})
STAGE_BY_VALUE = {stage: name for name, stage in STAGE_NAMES.items()}


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return scim_json(body, self.status)


def _from_domain(error: DomainError) -> ScimError:
    where = f"{error.field}: " if error.field else ""
    if isinstance(error, Conflict):
        return ScimError(409, f"{where}{error.reason}", "uniqueness")
    if isinstance(error, NotFound):
        return ScimError(404, f"{where}{error.reason}")
    if isinstance(error, Rejected):
        return ScimError(400, f"{where}{error.reason}", "invalidValue")
    return ScimError(error.status, f"{where}{error.reason}")


def _from_validation(error: ValidationError) -> ScimError:
    where, why = problems(error, whole="body")[0]
    return ScimError(400, f"{where}: {why}", "invalidValue")


def scim_json(body: Any, status: int = 200, location: str | None = None) -> JSONResponse:
    headers = {"Location": location} if location else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def to_user(person: Participant, base_url: str) -> Any:
    emails = person.emails if person.work_email in {e.value for e in person.emails} else []
    listed = emails or [EmailAddress(value=person.work_email, type="work", primary=True)]
    user = RosterUser(
        id=person.id,
        external_id=person.external_id,
        user_name=person.subject,
        display_name=person.display_name,
        emails=[Email(value=e.value, type=e.type, primary=e.primary) for e in listed],
        active=person.active,
        meta=Meta(
            resource_type="User",
            created=person.registered_at,
            last_modified=person.registered_at,
            version=f'W/"{person.version}"',
            location=f"{base_url}{BASE}/Users/{person.id}",
        ),
    )
    user[ParticipantProfile] = ParticipantProfile(
        profession=ProfessionName(person.profession.value),
        career_stage=CareerStageName(STAGE_BY_VALUE[person.career_stage]),
    )
    if person.employee_number is not None or person.department is not None:
        user[Employment] = Employment(
            employee_number=person.employee_number, department=person.department
        )
    return user


def to_person(user: Any) -> commands.ProvisionedPerson:
    profile = user[ParticipantProfile]
    if profile is None or profile.profession is None or profile.career_stage is None:
        raise ScimError(
            400,
            f"{PARTICIPANT_SCHEMA}: profession and careerStage are required",
            "invalidValue",
        )
    emails = [
        EmailAddress(value=str(e.value), type=e.type, primary=e.primary)
        for e in user.emails or []
        if e.value
    ]
    if not emails:
        raise ScimError(400, "emails: a work e-mail is required", "invalidValue")
    work = next((e for e in emails if e.primary), emails[0])
    employment = user[Employment]
    try:
        return commands.ProvisionedPerson(
            subject=user.user_name,
            display_name=user.display_name or user.user_name,
            work_email=work.value,
            profession=profile.profession.value,
            career_stage=STAGE_NAMES[profile.career_stage.value],
            department=employment.department if employment else None,
            employee_number=employment.employee_number if employment else None,
            external_id=user.external_id,
            emails=emails,
            active=user.active,
        )
    except ValidationError as error:
        raise _from_validation(error) from None


def to_group(cohort: Cohort, base_url: str) -> CohortGroup:
    return CohortGroup(
        id=cohort.id,
        external_id=cohort.external_id,
        display_name=cohort.display_name,
        members=[
            GroupMember(
                value=m,
                ref=f"{base_url}{BASE}/Users/{m}",
                type="User",
                display=cohort.member_display.get(m),
            )
            for m in cohort.member_ids
        ]
        or None,
        meta=Meta(
            resource_type="Group",
            version=f'W/"{cohort.version}"',
            location=f"{base_url}{BASE}/Groups/{cohort.id}",
        ),
    )


def _dump(
    resource: Any, context: Context, asked: ResponseParameters | None = None
) -> dict[str, Any]:
    dumped: dict[str, Any] = resource.model_dump(scim_ctx=context, response_parameters=asked)
    return dumped


def _asked(request: Request) -> ResponseParameters:
    """`attributes` and `excludedAttributes` of the query (RFC 7644 section 3.4.2.5)."""
    return ResponseParameters.model_validate(
        {
            "attributes": request.query_params.get("attributes"),
            "excludedAttributes": request.query_params.get("excludedAttributes"),
        }
    )


def _search_of(request: Request, model: Any) -> SearchRequest[Any]:
    query = request.query_params
    wanted = {
        key: query[key]
        for key in ("filter", "startIndex", "count", "attributes", "excludedAttributes")
        if key in query
    }
    return SearchRequest[model].model_validate(wanted, scim_ctx=Context.SEARCH_REQUEST)


# `attribute eq "value"`: what IdPs send before each push (Entra ID asks for the
# userName, Okta for the userName or externalId).
SIMPLE_EQUALITY = re.compile(
    r'^\s*(userName|externalId|id|emails(?:\.value)?)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.I
)
STORED_AS = {
    "username": "subject",
    "externalid": "external_id",
    "id": "_id",
    "emails": "work_email",
    "emails.value": "work_email",
}


def _narrowed(text: str | None) -> dict[str, Any]:
    """The store query that finds the candidates of a simple equality filter (the roster
    is not read whole for it); {} (everyone) for any other filter."""
    found = SIMPLE_EQUALITY.match(text or "")
    if found is None:
        return {}
    value = json.loads(f'"{found.group(2)}"')
    field = STORED_AS[found.group(1).lower()]
    if field == "_id":
        return {"_id": value}
    # Case aside (userName and e-mails compare without it, RFC 7643 section 4.1.1): the
    # filter itself then decides exactly.
    like = {"$regex": f"^{re.escape(value)}$", "$options": "i"}
    if field == "work_email":
        return {"$or": [{"work_email": like}, {"emails.value": like}]}
    return {field: like}


def _search_page(resources: list[Any], search: SearchRequest[Any], model: Any) -> dict[str, Any]:
    """Filtered here, over the roster (a few thousand people); pages of at most 1,000."""
    if search.filter is not None:
        resources = [r for r in resources if search.filter.match(r)]
    start = max(search.start_index or 1, 1)
    count = min(search.count if search.count is not None else MAX_RESULTS, MAX_RESULTS)
    page = resources[start - 1 : start - 1 + count]
    body = ListResponse[model](
        total_results=len(resources), start_index=start, items_per_page=len(page), resources=page
    )
    return _dump(body, Context.SEARCH_RESPONSE, search)


async def _then(value: Awaitable[Any], then: Callable[[Any], Any]) -> Any:
    return then(await value)


@dataclass(frozen=True)
class Kind:
    """One kind of SCIM resource: how to read, list, create, replace and delete it."""

    endpoint: str
    model: Any
    read: Callable[[Request, str], Awaitable[Any]]  # 404 as a ScimError
    # (request, the filter as sent) -> the candidates; the filter then decides exactly.
    listed: Callable[[Request, str | None], Awaitable[list[Any]]]
    create: Callable[[Any], Awaitable[Any]]
    replace: Callable[[str, Any], Awaitable[Any]]
    delete: Callable[[str], Awaitable[Any]]
    shown: Callable[[Any, str], Any]  # (the saved record, base URL) -> the resource


def _add_routes(
    router: APIRouter,
    kind: Kind,
    guarded: Callable[[Callable[..., Awaitable[Response]]], Callable[..., Awaitable[Response]]],
    body_of: Callable[[Request], Awaitable[Any]],
    base_url: Callable[[Request], str],
) -> None:
    """POST, GET (one, listed, .search), PUT, PATCH and DELETE (RFC 7644 section 3)."""
    one = f"/{kind.endpoint}/{{key}}"

    async def search(request: Request, wanted: SearchRequest[Any]) -> Response:
        text = str(wanted.filter) if wanted.filter is not None else None
        return scim_json(_search_page(await kind.listed(request, text), wanted, kind.model))

    async def create(request: Request) -> Response:
        body = kind.model.model_validate(
            await body_of(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST
        )
        return respond(kind.shown(await kind.create(body), base_url(request)), request, 201)

    async def read(request: Request, key: str) -> Response:
        return respond(await kind.read(request, key), request)

    async def listed(request: Request) -> Response:
        return await search(request, _search_of(request, kind.model))

    async def posted_search(request: Request) -> Response:
        wanted = SearchRequest[kind.model].model_validate(  # type: ignore[name-defined]
            await body_of(request), scim_ctx=Context.SEARCH_REQUEST
        )
        return await search(request, wanted)

    # Replace and delete find out in their own transaction whether the resource exists
    # (404 from the domain's NotFound): no read beforehand.
    async def replace(request: Request, key: str) -> Response:
        body = kind.model.model_validate(
            await body_of(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
        )
        return respond(kind.shown(await kind.replace(key, body), base_url(request)), request)

    async def patch(request: Request, key: str) -> Response:
        current = await kind.read(request, key)
        operations = PatchOp[kind.model].model_validate(  # type: ignore[name-defined]
            await body_of(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST
        )
        operations.patch(current)
        return respond(kind.shown(await kind.replace(key, current), base_url(request)), request)

    async def delete(request: Request, key: str) -> Response:
        await kind.delete(key)
        return Response(status_code=204)

    for path, method, verb, work in (
        (f"/{kind.endpoint}", "POST", "create", create),
        (f"/{kind.endpoint}", "GET", "list", listed),
        (f"/{kind.endpoint}/.search", "POST", "search", posted_search),
        (one, "GET", "read", read),
        (one, "PUT", "replace", replace),
        (one, "PATCH", "patch", patch),
        (one, "DELETE", "delete", delete),
    ):
        router.add_api_route(
            path,
            guarded(work),
            methods=[method],
            # The operation id: `scim_read_users`.
            name=f"scim_{verb}_{kind.endpoint.lower()}",
            response_class=JSONResponse,
        )


def respond(resource: Any, request: Request, status: int = 200) -> JSONResponse:
    """A created (201, with its Location) or read resource, with the attributes asked for."""
    created = status == 201
    context = Context.RESOURCE_CREATION_RESPONSE if created else Context.RESOURCE_QUERY_RESPONSE
    location = resource.meta.location if created and resource.meta else None
    return scim_json(_dump(resource, context, _asked(request)), status, location)


def scim_router(
    bus: MessageBus,
    views: IdentityViews,
    institution: str,
    verifier: BearerVerifier,
) -> APIRouter:
    router = APIRouter(prefix=BASE, tags=["scim"])

    async def provisioner(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ScimError(401, "an Authorization: Bearer <token> header is required")
        try:
            who = await verifier.verify(token)
            access.require_home(who, institution)
            access.require_role(who, Role.PROVISIONER)
        except DomainError as error:
            raise _from_domain(error) from None

    async def body_of(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except ValueError as error:
            raise ScimError(400, f"the body is not JSON: {error}", "invalidSyntax") from None

    def guarded(
        work: Callable[..., Awaitable[Response]],
    ) -> Callable[..., Awaitable[Response]]:
        """Authentication first, then the work; every failure as a SCIM error body."""

        @functools.wraps(work)  # FastAPI reads the path parameters from `work`
        async def run(request: Request, **path: str) -> Response:
            try:
                await provisioner(request)
                return await work(request, **path)
            except ScimError as error:
                return error.response()
            except SCIMException as error:
                return ScimError(
                    int(error.status or 400), str(error.detail), error.scim_type
                ).response()
            except ValidationError as error:
                return _from_validation(error).response()
            except DomainError as error:
                return _from_domain(error).response()

        return run

    def base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    # Discovery ---------------------------------------------------------------------------

    def resource_types(request: Request) -> list[dict[str, Any]]:
        found = []
        for model in (RosterUser, CohortGroup):
            resource_type = ResourceType.from_resource(model)
            for extension in resource_type.schema_extensions or []:
                # What pairing needs (profession, career stage) comes only in ours.
                extension.required = extension.schema_ == PARTICIPANT_SCHEMA
            resource_type.meta = Meta(
                resource_type="ResourceType",
                location=f"{base_url(request)}{BASE}/ResourceTypes/{resource_type.id}",
            )
            found.append(resource_type.model_dump(mode="json", by_alias=True, exclude_none=True))
        return found

    def schemas(request: Request) -> list[dict[str, Any]]:
        documents = []
        for model in (RosterUser, ParticipantProfile, Employment, CohortGroup):
            schema = public(model)
            schema["meta"] = {
                "resourceType": "Schema",
                "location": f"{base_url(request)}{BASE}/Schemas/{schema['id']}",
            }
            documents.append(schema)
        return documents

    @router.get("/ServiceProviderConfig")
    @guarded
    async def service_provider_config(request: Request) -> Response:
        config = ServiceProviderConfig.model_validate(
            {
                "documentationUri": "https://telemachus.example/docs/identity.md#scim",
                "patch": {"supported": True},
                "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
                "filter": {"supported": True, "maxResults": MAX_RESULTS},
                "changePassword": {"supported": False},
                "sort": {"supported": False},
                "etag": {"supported": False},
                "authenticationSchemes": [
                    {
                        "type": "oauthbearertoken",
                        "name": "OAuth Bearer Token",
                        "description": "A token of the institution's IdP with the "
                        "provisioner role (docs/security.md)",
                        "primary": True,
                    }
                ],
                "meta": {
                    "resourceType": "ServiceProviderConfig",
                    "location": f"{base_url(request)}{BASE}/ServiceProviderConfig",
                },
            }
        )
        return scim_json(config.model_dump(mode="json", by_alias=True, exclude_none=True))

    def listed(resources: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(resources),
            "startIndex": 1,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }

    def one_of(documents: list[dict[str, Any]], key: str, wanted: str) -> Response:
        for document in documents:
            if document[key] == wanted:
                return scim_json(document)
        raise ScimError(404, f"no {wanted} here")

    @router.get("/ResourceTypes")
    @guarded
    async def list_resource_types(request: Request) -> Response:
        return scim_json(listed(resource_types(request)))

    @router.get("/ResourceTypes/{type_id}")
    @guarded
    async def get_resource_type(request: Request, type_id: str) -> Response:
        return one_of(resource_types(request), "id", type_id)

    @router.get("/Schemas")
    @guarded
    async def list_schemas(request: Request) -> Response:
        return scim_json(listed(schemas(request)))

    @router.get("/Schemas/{schema_id}")
    @guarded
    async def get_schema(request: Request, schema_id: str) -> Response:
        return one_of(schemas(request), "id", schema_id)

    # Users and groups: the same protocol over two kinds of resource ------------------------

    async def person(participant_id: str) -> Participant:
        found = await views.participant(participant_id)
        if found is None:
            raise ScimError(404, f"no User {participant_id} here")
        return found

    async def cohort(group_id: str) -> Cohort:
        found = await views.cohort(group_id)
        if found is None:
            raise ScimError(404, f"no Group {group_id} here")
        return found

    def save_group(group: Any, cohort_id: str | None) -> commands.SaveCohort:
        if not group.display_name:
            raise ScimError(400, "displayName is required", "invalidValue")
        return commands.SaveCohort(
            cohort_id=cohort_id,
            display_name=group.display_name,
            member_ids=[m.value for m in group.members or [] if m.value],
            member_display={
                m.value: m.display for m in group.members or [] if m.value and m.display
            },
            external_id=group.external_id,
        )

    users = Kind(
        endpoint="Users",
        model=RosterUser,
        read=lambda request, key: _then(person(key), lambda p: to_user(p, base_url(request))),
        listed=lambda request, text: _then(
            views.participants_where(_narrowed(text)),
            lambda ps: [to_user(p, base_url(request)) for p in ps],
        ),
        create=lambda user: bus.handle(commands.ProvisionPerson(person=to_person(user))),
        replace=lambda key, user: bus.handle(
            commands.ReplacePerson(participant_id=key, person=to_person(user))
        ),
        delete=lambda key: bus.handle(
            commands.EraseParticipant(participant_id=key, requested_by=Role.PROVISIONER.value)
        ),
        shown=to_user,
    )
    groups = Kind(
        endpoint="Groups",
        model=CohortGroup,
        read=lambda request, key: _then(cohort(key), lambda c: to_group(c, base_url(request))),
        listed=lambda request, text: _then(
            views.cohorts(), lambda cs: [to_group(c, base_url(request)) for c in cs]
        ),
        create=lambda group: bus.handle(save_group(group, None)),
        replace=lambda key, group: bus.handle(save_group(group, key)),
        delete=lambda key: bus.handle(commands.DeleteCohort(cohort_id=key)),
        shown=to_group,
    )
    for kind in (users, groups):
        _add_routes(router, kind, guarded, body_of, base_url)

    @router.post("/.search")
    @guarded
    async def post_search_all(request: Request) -> Response:
        """Users and groups at once (RFC 7644 section 3.4.3)."""
        search = SearchRequest[RosterUser | CohortGroup].model_validate(
            await body_of(request), scim_ctx=Context.SEARCH_REQUEST
        )
        found: list[Any] = [to_user(p, base_url(request)) for p in await views.participants(None)]
        found += [to_group(c, base_url(request)) for c in await views.cohorts()]
        return scim_json(_search_page(found, search, RosterUser | CohortGroup))

    @router.api_route(
        "/{unknown:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    @guarded
    async def not_here(request: Request, unknown: str) -> Response:
        if unknown.split("/")[0] in READ_ONLY:
            raise ScimError(405, f"{request.method} is not allowed on {BASE}/{unknown}")
        raise ScimError(404, f"{BASE}/{unknown} is not an endpoint of this service")

    return router
