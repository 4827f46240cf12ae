"""The driver app's GraphQL schema (contract §3)."""

import graphene


class Query(graphene.ObjectType):
    ping = graphene.String()


schema = graphene.Schema(query=Query)
