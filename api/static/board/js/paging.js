// Every page of a connection: follows pageInfo until the last one (the API answers at most 500 rows a page).

const PAGE = 500;

/** All nodes of the connection `field` answered by `query`, which takes `$first: Int, $after: String` and asks
 * for `pageInfo { hasNextPage endCursor }`; stops after `limit` nodes. */
export async function allNodes(api, query, variables, field, limit = 5000) {
  const nodes = [];
  let after = null;
  for (;;) {
    const connection = (await api.query(query, { ...variables, first: PAGE, after }))[field];
    nodes.push(...connection.edges.map((edge) => edge.node));
    if (!connection.pageInfo.hasNextPage || nodes.length >= limit) return nodes;
    after = connection.pageInfo.endCursor;
  }
}
